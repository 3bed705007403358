//! Hash functions, token algorithms and what an authentication signs (DESIGN.md).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum HashFunction {
    #[serde(rename = "SHA-224")]
    Sha224,
    #[serde(rename = "SHA-256")]
    Sha256,
    #[serde(rename = "SHA-384")]
    Sha384,
    #[serde(rename = "SHA-512")]
    Sha512,
}

impl HashFunction {
    /// The wire name, e.g. `"SHA-256"`.
    pub fn as_str(self) -> &'static str {
        match self {
            HashFunction::Sha224 => "SHA-224",
            HashFunction::Sha256 => "SHA-256",
            HashFunction::Sha384 => "SHA-384",
            HashFunction::Sha512 => "SHA-512",
        }
    }

    pub fn from_wire(s: &str) -> Option<HashFunction> {
        [
            HashFunction::Sha224,
            HashFunction::Sha256,
            HashFunction::Sha384,
            HashFunction::Sha512,
        ]
        .into_iter()
        .find(|h| h.as_str() == s)
    }

    /// Output length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            HashFunction::Sha224 => 28,
            HashFunction::Sha256 => 32,
            HashFunction::Sha384 => 48,
            HashFunction::Sha512 => 64,
        }
    }

    pub fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            HashFunction::Sha224 => Sha224::digest(data).to_vec(),
            HashFunction::Sha256 => Sha256::digest(data).to_vec(),
            HashFunction::Sha384 => Sha384::digest(data).to_vec(),
            HashFunction::Sha512 => Sha512::digest(data).to_vec(),
        }
    }
}

/// The JWS algorithm named in a Web eID authentication token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TokenAlgorithm {
    #[serde(rename = "RS256")]
    Rs256,
    #[serde(rename = "ES256")]
    Es256,
    #[serde(rename = "ES384")]
    Es384,
    #[serde(rename = "PS256")]
    Ps256,
}

impl TokenAlgorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenAlgorithm::Rs256 => "RS256",
            TokenAlgorithm::Es256 => "ES256",
            TokenAlgorithm::Es384 => "ES384",
            TokenAlgorithm::Ps256 => "PS256",
        }
    }

    /// H of DESIGN.md: SHA-384 for ES384, SHA-256 otherwise.
    pub fn hash_function(self) -> HashFunction {
        match self {
            TokenAlgorithm::Es384 => HashFunction::Sha384,
            TokenAlgorithm::Rs256 | TokenAlgorithm::Es256 | TokenAlgorithm::Ps256 => {
                HashFunction::Sha256
            }
        }
    }
}

/// `H(origin) || H(nonce)`: the data a JWS-style verifier checks the token signature over.
pub fn authentication_signed_data(
    algorithm: TokenAlgorithm,
    origin: impl AsRef<str>,
    challenge_nonce: &str,
) -> Vec<u8> {
    let h = algorithm.hash_function();
    let mut data = h.hash(origin.as_ref().as_bytes());
    data.extend_from_slice(&h.hash(challenge_nonce.as_bytes()));
    data
}

/// `H(H(origin) || H(nonce))`: the digest the card signs.
pub fn authentication_digest(
    algorithm: TokenAlgorithm,
    origin: impl AsRef<str>,
    challenge_nonce: &str,
) -> Vec<u8> {
    let signed = authentication_signed_data(algorithm, origin, challenge_nonce);
    algorithm.hash_function().hash(&signed)
}
