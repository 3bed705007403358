//! Reference server-side verification of a Web eID 1.0 authentication token.
//!
//! This is the module other CIS2-facing services are expected to copy, so it takes the checks in the
//! order a careful server must take them, and every way a token can fail has its own [`VerifyError`]
//! variant:
//!
//! 1. The token is the Web eID shape: `format` is `web-eid:1.0`, `algorithm` one of RS256, ES256,
//!    ES384, PS256.
//! 2. The certificate parses (X.509 DER, standard base64).
//! 3. It was issued by the configured trust anchor: same issuer name, and the anchor's signature over
//!    the exact TBS bytes of the certificate verifies (ECDSA P-256/P-384 or RSA PKCS#1 v1.5 SHA-256).
//! 4. It is valid now (`notBefore <= now <= notAfter`), and so is the anchor.
//! 5. keyUsage includes digitalSignature and extendedKeyUsage includes clientAuth.
//! 6. The token's algorithm fits the certificate's key (RS256/PS256 ↔ RSA, ES256 ↔ P-256,
//!    ES384 ↔ P-384).
//! 7. The signature verifies over `H(origin) || H(nonce)` (built by
//!    [`carecard_protocol::authentication_signed_data`], the same function the host uses), where
//!    origin and nonce come from **the server's own session**, never from the token or the request.
//!
//! A signature over the wrong origin or the wrong nonce cannot be told apart from a forged one by
//! cryptography alone. To give developers an actionable message anyway, a failed signature is tried
//! against a few likely mistakes — the same origin with `localhost`/`127.0.0.1`, `http`/`https`,
//! a default port or a trailing slash swapped, and the session's earlier challenges — and reported
//! as [`VerifyError::OriginMismatch`] or [`VerifyError::StaleNonce`] when one of them matches. Those
//! retries only ever turn a rejection into a more precise rejection.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use carecard_protocol::{authentication_signed_data, CertificateSummary, TokenAlgorithm};
use const_oid::db::{rfc5280, rfc5912};
use const_oid::ObjectIdentifier;
use der::asn1::AnyRef;
use der::{Decode, Encode, Reader, SliceReader};
use serde::Deserialize;
use signature::hazmat::PrehashVerifier;
use signature::Verifier as _;
use spki::SubjectPublicKeyInfoOwned;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages};
use x509_cert::Certificate;

/// The only token format this verifier accepts (`web-eid:1.0`, from the protocol crate).
pub use carecard_protocol::TOKEN_FORMAT;

/// Why a token was rejected. Each variant is one distinct failure a server should report.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyError {
    #[error("the authentication token is not a Web eID token: {0}")]
    MalformedToken(String),
    #[error("the token format {0:?} is not supported (expected \"web-eid:1.0\")")]
    UnsupportedFormat(String),
    #[error(
        "the signature algorithm {0:?} is not supported (expected RS256, ES256, ES384 or PS256)"
    )]
    UnsupportedAlgorithm(String),
    #[error("the certificate in the token cannot be read: {0}")]
    MalformedCertificate(String),
    #[error("the certificate was not issued by this site's trusted CA: {0}")]
    UntrustedCertificate(String),
    #[error("the certificate is not valid before {}; it is now {}", utc(*not_before), utc(*now))]
    CertificateNotYetValid { not_before: i64, now: i64 },
    #[error("the certificate expired on {}; it is now {}", utc(*not_after), utc(*now))]
    CertificateExpired { not_after: i64, now: i64 },
    #[error("the certificate's key usage does not allow digital signatures")]
    WrongKeyUsage,
    #[error("the certificate is not for client authentication (no clientAuth extended key usage)")]
    MissingClientAuth,
    #[error("the algorithm {algorithm} does not fit the certificate's {key} key")]
    AlgorithmKeyMismatch {
        algorithm: &'static str,
        key: &'static str,
    },
    #[error("the signature is not a well-formed {algorithm} signature")]
    MalformedSignature { algorithm: &'static str },
    #[error("the token was signed for the origin {signed_for}, but this site is {expected}")]
    OriginMismatch {
        signed_for: String,
        expected: String,
    },
    #[error("the token was signed over an earlier challenge, not this session's current one")]
    StaleNonce,
    #[error("the signature does not match this site's origin and this session's challenge")]
    BadSignature,
    #[error("the certificate subject has no 12-digit user ID (serialNumber attribute)")]
    NoUserId,
}

impl VerifyError {
    /// A stable machine-readable code for APIs (the mock site returns it as `error`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedToken(_) => "MALFORMED_TOKEN",
            Self::UnsupportedFormat(_) => "UNSUPPORTED_FORMAT",
            Self::UnsupportedAlgorithm(_) => "UNSUPPORTED_ALGORITHM",
            Self::MalformedCertificate(_) => "MALFORMED_CERTIFICATE",
            Self::UntrustedCertificate(_) => "UNTRUSTED_CERTIFICATE",
            Self::CertificateNotYetValid { .. } => "CERTIFICATE_NOT_YET_VALID",
            Self::CertificateExpired { .. } => "CERTIFICATE_EXPIRED",
            Self::WrongKeyUsage => "WRONG_KEY_USAGE",
            Self::MissingClientAuth => "MISSING_CLIENT_AUTH",
            Self::AlgorithmKeyMismatch { .. } => "ALGORITHM_KEY_MISMATCH",
            Self::MalformedSignature { .. } => "MALFORMED_SIGNATURE",
            Self::OriginMismatch { .. } => "ORIGIN_MISMATCH",
            Self::StaleNonce => "STALE_NONCE",
            Self::BadSignature => "BAD_SIGNATURE",
            Self::NoUserId => "NO_USER_ID",
        }
    }
}

/// The token as it arrives. Fields are kept as loose strings on purpose: an unknown algorithm or
/// format must be reported as such, not as a generic JSON error.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnverifiedToken {
    pub unverified_certificate: String,
    pub algorithm: String,
    pub signature: String,
    pub format: String,
    #[serde(default)]
    pub app_version: Option<String>,
}

impl UnverifiedToken {
    /// Reads a token from its JSON value (the `authToken` member of a login request).
    pub fn from_json(value: &serde_json::Value) -> Result<Self, VerifyError> {
        Self::deserialize(value).map_err(|e| VerifyError::MalformedToken(e.to_string()))
    }
}

/// What the server expects, taken from its own configuration and session.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The site's public origin, e.g. `https://am.nhsidentity.spineservices.nhs.uk`.
    pub origin: &'a str,
    /// The challenge nonce this session was given (already checked unused and unexpired).
    pub nonce: &'a str,
    /// The session's earlier challenges; only used to explain a failed signature.
    pub earlier_nonces: &'a [String],
}

/// The CA whose certificates the site accepts.
#[derive(Debug, Clone)]
pub struct TrustAnchor {
    certificate: Certificate,
    key: PublicKey,
}

impl TrustAnchor {
    /// Loads the CA certificate (DER), e.g. `ca.der` written by `carecard-vcard init`.
    pub fn from_der(der: &[u8]) -> Result<Self, VerifyError> {
        let certificate = Certificate::from_der(der)
            .map_err(|e| VerifyError::MalformedCertificate(format!("trust anchor: {e}")))?;
        let key = PublicKey::from_spki(&certificate.tbs_certificate.subject_public_key_info)?;
        Ok(Self { certificate, key })
    }

    /// The CA's subject name in RFC 4514 form, for logs and pages.
    pub fn subject(&self) -> String {
        self.certificate.tbs_certificate.subject.to_string()
    }
}

/// A person whose token verified.
#[derive(Debug, Clone)]
pub struct VerifiedUser {
    /// Name, user ID and validity, read by the protocol crate (one set of rules for everyone).
    pub summary: CertificateSummary,
    /// The user's 12-digit CIS2 user ID (the subject serialNumber); always present.
    pub user_id: String,
    /// The verified certificate, DER.
    pub certificate: Vec<u8>,
}

/// Verifies a token against what the server expects. `now` is passed in so tests (and servers
/// with their own clock) decide what "now" is.
pub fn verify_token(
    token: &UnverifiedToken,
    expected: &Expected<'_>,
    anchor: &TrustAnchor,
    now: SystemTime,
) -> Result<VerifiedUser, VerifyError> {
    if token.format != TOKEN_FORMAT {
        return Err(VerifyError::UnsupportedFormat(token.format.clone()));
    }
    let algorithm = parse_algorithm(&token.algorithm)?;
    let certificate_der = STANDARD
        .decode(&token.unverified_certificate)
        .map_err(|e| VerifyError::MalformedCertificate(format!("not base64: {e}")))?;
    let certificate = Certificate::from_der(&certificate_der)
        .map_err(|e| VerifyError::MalformedCertificate(e.to_string()))?;

    check_issued_by(&certificate_der, &certificate, anchor)?;
    let now_unix = unix_seconds(now);
    check_validity(&anchor.certificate, now_unix).map_err(|e| {
        VerifyError::UntrustedCertificate(format!("the CA certificate is not valid now ({e})"))
    })?;
    check_validity(&certificate, now_unix)?;
    check_key_usage(&certificate)?;

    let key = PublicKey::from_spki(&certificate.tbs_certificate.subject_public_key_info)?;
    key.check_fits(algorithm)?;
    let signature =
        STANDARD
            .decode(&token.signature)
            .map_err(|_| VerifyError::MalformedSignature {
                algorithm: algorithm_name(algorithm),
            })?;
    check_token_signature(&key, algorithm, &signature, expected)?;

    let summary = CertificateSummary::from_der(&certificate_der)
        .map_err(|e| VerifyError::MalformedCertificate(e.to_string()))?;
    // CIS2 identifies people by a 12-digit UUID; the protocol crate reads it, we insist on it.
    let user_id = summary
        .user_id
        .clone()
        .filter(|id| id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit()))
        .ok_or(VerifyError::NoUserId)?;
    Ok(VerifiedUser {
        summary,
        user_id,
        certificate: certificate_der,
    })
}

/// Whether `certificate_der` was issued by `anchor` and, given `now`, is valid then (the chain
/// and validity checks of [`verify_token`], for the card-management service, which is handed
/// certificates rather than tokens). Returns the certificate's summary.
pub fn check_certificate(
    certificate_der: &[u8],
    anchor: &TrustAnchor,
    now: Option<SystemTime>,
) -> Result<CertificateSummary, VerifyError> {
    let certificate = Certificate::from_der(certificate_der)
        .map_err(|e| VerifyError::MalformedCertificate(e.to_string()))?;
    check_issued_by(certificate_der, &certificate, anchor)?;
    if let Some(now) = now {
        check_validity(&certificate, unix_seconds(now))?;
    }
    CertificateSummary::from_der(certificate_der)
        .map_err(|e| VerifyError::MalformedCertificate(e.to_string()))
}

/// Whether the certificate's keyUsage has nonRepudiation (a 9C signing certificate).
pub fn has_non_repudiation(certificate_der: &[u8]) -> bool {
    let Ok(certificate) = Certificate::from_der(certificate_der) else {
        return false;
    };
    certificate
        .tbs_certificate
        .extensions
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|e| e.extn_id == rfc5280::ID_CE_KEY_USAGE)
        .filter_map(|e| KeyUsage::from_der(e.extn_value.as_bytes()).ok())
        .any(|usage| usage.0.contains(KeyUsages::NonRepudiation))
}

fn parse_algorithm(name: &str) -> Result<TokenAlgorithm, VerifyError> {
    match name {
        "RS256" => Ok(TokenAlgorithm::Rs256),
        "ES256" => Ok(TokenAlgorithm::Es256),
        "ES384" => Ok(TokenAlgorithm::Es384),
        "PS256" => Ok(TokenAlgorithm::Ps256),
        other => Err(VerifyError::UnsupportedAlgorithm(other.to_owned())),
    }
}

fn algorithm_name(algorithm: TokenAlgorithm) -> &'static str {
    match algorithm {
        TokenAlgorithm::Rs256 => "RS256",
        TokenAlgorithm::Es256 => "ES256",
        TokenAlgorithm::Es384 => "ES384",
        TokenAlgorithm::Ps256 => "PS256",
    }
}

/// Unix seconds as `2025-01-01T00:00:00Z`, for messages people read.
fn utc(unix: i64) -> String {
    u64::try_from(unix)
        .ok()
        .and_then(|s| der::DateTime::from_unix_duration(std::time::Duration::from_secs(s)).ok())
        .map_or_else(|| format!("{unix} (unix time)"), |t| t.to_string())
}

fn unix_seconds(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
        Err(before) => -i64::try_from(before.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

// ---------------------------------------------------------------------------------------------
// Chain: one level, leaf signed directly by the trust anchor.

/// OIDs of the CA signature algorithms we accept on a certificate.
const ECDSA_WITH_SHA256: ObjectIdentifier = rfc5912::ECDSA_WITH_SHA_256;
const ECDSA_WITH_SHA384: ObjectIdentifier = rfc5912::ECDSA_WITH_SHA_384;
const SHA256_WITH_RSA: ObjectIdentifier = rfc5912::SHA_256_WITH_RSA_ENCRYPTION;

fn check_issued_by(
    certificate_der: &[u8],
    certificate: &Certificate,
    anchor: &TrustAnchor,
) -> Result<(), VerifyError> {
    let issuer = &certificate.tbs_certificate.issuer;
    if *issuer != anchor.certificate.tbs_certificate.subject {
        return Err(VerifyError::UntrustedCertificate(format!(
            "issuer \"{issuer}\" is not the trusted CA \"{}\"",
            anchor.subject()
        )));
    }
    // The outer and inner algorithm identifiers must agree (RFC 5280 4.1.1.2), or an attacker could
    // steer which algorithm we use.
    if certificate.signature_algorithm != certificate.tbs_certificate.signature {
        return Err(VerifyError::MalformedCertificate(
            "the signature algorithm inside and outside the TBS differ".into(),
        ));
    }
    // Verify over the TBS bytes exactly as received rather than a re-encoding of the parsed value.
    let tbs = raw_tbs(certificate_der)
        .map_err(|e| VerifyError::MalformedCertificate(format!("cannot find the TBS: {e}")))?;
    let signature = certificate.signature.as_bytes().ok_or_else(|| {
        VerifyError::MalformedCertificate("the CA signature has unused bits".into())
    })?;
    let untrusted = |why: &str| VerifyError::UntrustedCertificate(why.to_owned());
    let oid = certificate.signature_algorithm.oid;
    let ok = match (&anchor.key, oid) {
        (PublicKey::P256(key), ECDSA_WITH_SHA256 | ECDSA_WITH_SHA384) => {
            let sig = p256::ecdsa::Signature::from_der(signature)
                .map_err(|_| untrusted("the CA signature is not a P-256 ECDSA signature"))?;
            key.verify_prehash(&ca_digest(oid, tbs), &sig).is_ok()
        }
        (PublicKey::P384(key), ECDSA_WITH_SHA256 | ECDSA_WITH_SHA384) => {
            let sig = p384::ecdsa::Signature::from_der(signature)
                .map_err(|_| untrusted("the CA signature is not a P-384 ECDSA signature"))?;
            key.verify_prehash(&ca_digest(oid, tbs), &sig).is_ok()
        }
        (PublicKey::Rsa(key), SHA256_WITH_RSA) => {
            let verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key.clone());
            let sig = rsa::pkcs1v15::Signature::try_from(signature)
                .map_err(|_| untrusted("the CA signature is not an RSA signature"))?;
            verifier.verify(tbs, &sig).is_ok()
        }
        (_, other) => {
            return Err(untrusted(&format!(
                "signature algorithm {other} does not fit the CA's key or is not supported"
            )))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(untrusted(
            "the CA's signature on the certificate does not verify",
        ))
    }
}

fn ca_digest(oid: ObjectIdentifier, tbs: &[u8]) -> Vec<u8> {
    use sha2::Digest as _;
    if oid == ECDSA_WITH_SHA384 {
        sha2::Sha384::digest(tbs).to_vec()
    } else {
        sha2::Sha256::digest(tbs).to_vec()
    }
}

/// The DER of the first element of `Certificate ::= SEQUENCE { tbsCertificate, ... }`.
fn raw_tbs(certificate_der: &[u8]) -> der::Result<&[u8]> {
    let mut reader = SliceReader::new(certificate_der)?;
    let header = der::Header::decode(&mut reader)?;
    let outer = reader.read_slice(header.length)?;
    let mut inner = SliceReader::new(outer)?;
    let tbs = AnyRef::decode(&mut inner)?;
    let tbs_len = usize::try_from(tbs.encoded_len()?)?;
    outer.get(..tbs_len).ok_or(
        der::ErrorKind::Incomplete {
            expected_len: tbs.encoded_len()?,
            actual_len: der::Length::ZERO,
        }
        .into(),
    )
}

// ---------------------------------------------------------------------------------------------
// Validity and key usage.

fn check_validity(certificate: &Certificate, now: i64) -> Result<(), VerifyError> {
    let validity = &certificate.tbs_certificate.validity;
    let not_before =
        i64::try_from(validity.not_before.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    let not_after =
        i64::try_from(validity.not_after.to_unix_duration().as_secs()).unwrap_or(i64::MAX);
    if now < not_before {
        return Err(VerifyError::CertificateNotYetValid { not_before, now });
    }
    if now > not_after {
        return Err(VerifyError::CertificateExpired { not_after, now });
    }
    Ok(())
}

fn check_key_usage(certificate: &Certificate) -> Result<(), VerifyError> {
    let extensions = certificate
        .tbs_certificate
        .extensions
        .as_deref()
        .unwrap_or_default();
    let find = |oid: ObjectIdentifier| -> Result<Option<&[u8]>, VerifyError> {
        let mut matching = extensions.iter().filter(|e| e.extn_id == oid);
        let first = matching.next();
        if matching.next().is_some() {
            return Err(VerifyError::MalformedCertificate(format!(
                "extension {oid} appears twice"
            )));
        }
        Ok(first.map(|e| e.extn_value.as_bytes()))
    };
    let malformed =
        |what: &str, e: der::Error| VerifyError::MalformedCertificate(format!("{what}: {e}"));

    // A certificate without keyUsage is not restricted by RFC 5280, but a login certificate must say
    // it is for signatures: Web eID validators require digitalSignature too.
    let key_usage = match find(rfc5280::ID_CE_KEY_USAGE)? {
        Some(bytes) => KeyUsage::from_der(bytes).map_err(|e| malformed("keyUsage", e))?,
        None => return Err(VerifyError::WrongKeyUsage),
    };
    if !key_usage.0.contains(KeyUsages::DigitalSignature) {
        return Err(VerifyError::WrongKeyUsage);
    }
    let extended = match find(rfc5280::ID_CE_EXT_KEY_USAGE)? {
        Some(bytes) => {
            ExtendedKeyUsage::from_der(bytes).map_err(|e| malformed("extKeyUsage", e))?
        }
        None => return Err(VerifyError::MissingClientAuth),
    };
    if !extended.0.contains(&rfc5280::ID_KP_CLIENT_AUTH) {
        return Err(VerifyError::MissingClientAuth);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Keys and the token signature.

/// The public keys this verifier understands.
#[derive(Debug, Clone)]
enum PublicKey {
    Rsa(rsa::RsaPublicKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
}

const RSA_ENCRYPTION: ObjectIdentifier = rfc5912::RSA_ENCRYPTION;
const EC_PUBLIC_KEY: ObjectIdentifier = rfc5912::ID_EC_PUBLIC_KEY;
const SECP256R1: ObjectIdentifier = rfc5912::SECP_256_R_1;
const SECP384R1: ObjectIdentifier = rfc5912::SECP_384_R_1;

impl PublicKey {
    fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<Self, VerifyError> {
        let malformed =
            |what: &str| VerifyError::MalformedCertificate(format!("public key: {what}"));
        let key_bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| malformed("bit string with unused bits"))?;
        match spki.algorithm.oid {
            RSA_ENCRYPTION => {
                use rsa::pkcs1::DecodeRsaPublicKey as _;
                rsa::RsaPublicKey::from_pkcs1_der(key_bytes)
                    .map(Self::Rsa)
                    .map_err(|_| malformed("not an RSA public key"))
            }
            EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                    .ok_or_else(|| malformed("EC key without a named curve"))?;
                match curve {
                    SECP256R1 => p256::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                        .map(Self::P256)
                        .map_err(|_| malformed("not a P-256 point")),
                    SECP384R1 => p384::ecdsa::VerifyingKey::from_sec1_bytes(key_bytes)
                        .map(Self::P384)
                        .map_err(|_| malformed("not a P-384 point")),
                    other => Err(malformed(&format!("unsupported curve {other}"))),
                }
            }
            other => Err(malformed(&format!("unsupported key algorithm {other}"))),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Self::Rsa(_) => "RSA",
            Self::P256(_) => "P-256",
            Self::P384(_) => "P-384",
        }
    }

    fn check_fits(&self, algorithm: TokenAlgorithm) -> Result<(), VerifyError> {
        let fits = matches!(
            (self, algorithm),
            (Self::Rsa(_), TokenAlgorithm::Rs256 | TokenAlgorithm::Ps256)
                | (Self::P256(_), TokenAlgorithm::Es256)
                | (Self::P384(_), TokenAlgorithm::Es384)
        );
        if fits {
            Ok(())
        } else {
            Err(VerifyError::AlgorithmKeyMismatch {
                algorithm: algorithm_name(algorithm),
                key: self.kind(),
            })
        }
    }
}

/// A token signature in its algorithm's form, decoded once.
enum TokenSignature {
    Pkcs1(rsa::pkcs1v15::Signature),
    Pss(rsa::pss::Signature),
    P256(p256::ecdsa::Signature),
    P384(p384::ecdsa::Signature),
}

impl TokenSignature {
    /// ECDSA signatures are raw `r || s` (JWS style), each half the curve size; RSA signatures
    /// must be exactly the modulus size.
    fn decode(key: &PublicKey, algorithm: TokenAlgorithm, bytes: &[u8]) -> Option<Self> {
        use rsa::traits::PublicKeyParts as _;
        match (key, algorithm) {
            (PublicKey::Rsa(k), TokenAlgorithm::Rs256) if bytes.len() == k.size() => {
                rsa::pkcs1v15::Signature::try_from(bytes)
                    .ok()
                    .map(Self::Pkcs1)
            }
            (PublicKey::Rsa(k), TokenAlgorithm::Ps256) if bytes.len() == k.size() => {
                rsa::pss::Signature::try_from(bytes).ok().map(Self::Pss)
            }
            (PublicKey::P256(_), TokenAlgorithm::Es256) => {
                p256::ecdsa::Signature::from_slice(bytes)
                    .ok()
                    .map(Self::P256)
            }
            (PublicKey::P384(_), TokenAlgorithm::Es384) => {
                p384::ecdsa::Signature::from_slice(bytes)
                    .ok()
                    .map(Self::P384)
            }
            _ => None,
        }
    }

    /// Whether this signature verifies over `data` (the verifier hashes `data` with the
    /// algorithm's hash, so the card's input was `H(data)`).
    fn verifies(&self, key: &PublicKey, data: &[u8]) -> bool {
        use sha2::Sha256;
        match (self, key) {
            (Self::Pkcs1(sig), PublicKey::Rsa(k)) => {
                rsa::pkcs1v15::VerifyingKey::<Sha256>::new(k.clone())
                    .verify(data, sig)
                    .is_ok()
            }
            (Self::Pss(sig), PublicKey::Rsa(k)) => {
                // Salt length = hash length, as JWS PS256 prescribes.
                rsa::pss::VerifyingKey::<Sha256>::new(k.clone())
                    .verify(data, sig)
                    .is_ok()
            }
            (Self::P256(sig), PublicKey::P256(k)) => k.verify(data, sig).is_ok(),
            (Self::P384(sig), PublicKey::P384(k)) => k.verify(data, sig).is_ok(),
            _ => false,
        }
    }
}

fn check_token_signature(
    key: &PublicKey,
    algorithm: TokenAlgorithm,
    signature: &[u8],
    expected: &Expected<'_>,
) -> Result<(), VerifyError> {
    let signature = TokenSignature::decode(key, algorithm, signature).ok_or(
        VerifyError::MalformedSignature {
            algorithm: algorithm_name(algorithm),
        },
    )?;
    let signed_over = |origin: &str, nonce: &str| {
        signature.verifies(key, &authentication_signed_data(algorithm, origin, nonce))
    };
    if signed_over(expected.origin, expected.nonce) {
        return Ok(());
    }
    // Rejected. Find out whether it is a common mistake, to say so precisely.
    if let Some(signed_for) = origin_look_alikes(expected.origin)
        .into_iter()
        .find(|o| signed_over(o, expected.nonce))
    {
        return Err(VerifyError::OriginMismatch {
            signed_for,
            expected: expected.origin.to_owned(),
        });
    }
    if expected
        .earlier_nonces
        .iter()
        .any(|n| signed_over(expected.origin, n))
    {
        return Err(VerifyError::StaleNonce);
    }
    Err(VerifyError::BadSignature)
}

/// Origins a developer easily confuses with `origin`: other scheme, `localhost` vs `127.0.0.1`,
/// explicit vs implicit default port, a trailing slash. Never includes `origin` itself.
fn origin_look_alikes(origin: &str) -> Vec<String> {
    let Some((scheme, authority)) = origin.split_once("://") else {
        return Vec::new();
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()) => (h, Some(p)),
        _ => (authority, None),
    };
    let hosts: Vec<&str> = match host {
        "localhost" => vec!["localhost", "127.0.0.1"],
        "127.0.0.1" => vec!["127.0.0.1", "localhost"],
        other => vec![other],
    };
    let mut found = Vec::new();
    for scheme in [scheme, if scheme == "https" { "http" } else { "https" }] {
        let default_port = if scheme == "https" { "443" } else { "80" };
        let ports: Vec<Option<&str>> = match port {
            Some(p) if p == default_port => vec![Some(p), None],
            Some(p) => vec![Some(p)],
            None => vec![None, Some(default_port)],
        };
        for host in &hosts {
            for port in &ports {
                for slash in ["", "/"] {
                    let port = port.map(|p| format!(":{p}")).unwrap_or_default();
                    let candidate = format!("{scheme}://{host}{port}{slash}");
                    if candidate != origin && !found.contains(&candidate) {
                        found.push(candidate);
                    }
                }
            }
        }
    }
    found
}

#[cfg(test)]
mod tests;
