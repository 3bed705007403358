//! The Web eID 1.0 authentication token the host returns from `authenticate`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde::{Deserialize, Serialize};

use crate::hash::TokenAlgorithm;

/// The `format` field of every token this project produces.
pub const TOKEN_FORMAT: &str = "web-eid:1.0";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthenticationToken {
    /// Base64 DER of the authentication certificate.
    pub unverified_certificate: String,
    pub algorithm: TokenAlgorithm,
    /// Base64 signature: PKCS#1 v1.5 for RSA, raw `r || s` for ECDSA.
    pub signature: String,
    pub format: String,
    /// `https://.../carecard/<version>`; chosen by the host.
    pub app_version: String,
}

impl AuthenticationToken {
    pub fn new(
        certificate_der: &[u8],
        algorithm: TokenAlgorithm,
        signature: &[u8],
        app_version: impl Into<String>,
    ) -> Self {
        AuthenticationToken {
            unverified_certificate: STANDARD.encode(certificate_der),
            algorithm,
            signature: STANDARD.encode(signature),
            format: TOKEN_FORMAT.to_owned(),
            app_version: app_version.into(),
        }
    }
}
