//! Proof of possession and document signatures: checking what a card's key signed.
//!
//! - Proof of possession (`prove-possession`): the card signs `H(challenge)` with the new key,
//!   H = SHA-256 for RSA-2048 (PKCS#1 v1.5) and P-256 (raw `r || s`), SHA-384 for P-384.
//! - Document signatures (`sign`): the card signs a hash the site gave it; the site checks it
//!   against the 9C certificate's key.

use const_oid::db::rfc5912;
use const_oid::ObjectIdentifier;
use der::Decode;
use signature::hazmat::PrehashVerifier as _;
use signature::Verifier as _;
use spki::SubjectPublicKeyInfoOwned;

/// A public key the service can check signatures with.
#[derive(Debug, Clone)]
pub enum PublicKey {
    Rsa(rsa::RsaPublicKey),
    P256(p256::ecdsa::VerifyingKey),
    P384(p384::ecdsa::VerifyingKey),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    #[error("not a public key: {0}")]
    Malformed(String),
    #[error("unsupported key ({0}); cards have RSA-2048, P-256 or P-384 keys")]
    Unsupported(String),
}

const RSA_ENCRYPTION: ObjectIdentifier = rfc5912::RSA_ENCRYPTION;
const EC_PUBLIC_KEY: ObjectIdentifier = rfc5912::ID_EC_PUBLIC_KEY;

impl PublicKey {
    pub fn from_spki_der(der: &[u8]) -> Result<PublicKey, KeyError> {
        let spki = SubjectPublicKeyInfoOwned::from_der(der)
            .map_err(|e| KeyError::Malformed(e.to_string()))?;
        Self::from_spki(&spki)
    }

    pub fn from_spki(spki: &SubjectPublicKeyInfoOwned) -> Result<PublicKey, KeyError> {
        let bytes = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| KeyError::Malformed("bit string with unused bits".into()))?;
        match spki.algorithm.oid {
            RSA_ENCRYPTION => {
                use rsa::pkcs1::DecodeRsaPublicKey as _;
                use rsa::traits::PublicKeyParts as _;
                let key = rsa::RsaPublicKey::from_pkcs1_der(bytes)
                    .map_err(|e| KeyError::Malformed(e.to_string()))?;
                if key.size() != 256 {
                    return Err(KeyError::Unsupported(format!("RSA-{}", key.size() * 8)));
                }
                Ok(PublicKey::Rsa(key))
            }
            EC_PUBLIC_KEY => {
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                    .ok_or_else(|| KeyError::Malformed("EC key without a named curve".into()))?;
                match curve {
                    rfc5912::SECP_256_R_1 => p256::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
                        .map(PublicKey::P256)
                        .map_err(|_| KeyError::Malformed("not a P-256 point".into())),
                    rfc5912::SECP_384_R_1 => p384::ecdsa::VerifyingKey::from_sec1_bytes(bytes)
                        .map(PublicKey::P384)
                        .map_err(|_| KeyError::Malformed("not a P-384 point".into())),
                    other => Err(KeyError::Unsupported(format!("curve {other}"))),
                }
            }
            other => Err(KeyError::Unsupported(format!("algorithm {other}"))),
        }
    }

    /// The `generate-key` algorithm name of this key.
    pub fn algorithm(&self) -> &'static str {
        match self {
            PublicKey::Rsa(_) => "RSA2048",
            PublicKey::P256(_) => "P256",
            PublicKey::P384(_) => "P384",
        }
    }

    /// The hash a card uses with this key for proofs of possession and documents.
    pub fn hash_function(&self) -> &'static str {
        match self {
            PublicKey::P384(_) => "SHA-384",
            _ => "SHA-256",
        }
    }

    /// Hashes `data` with [`Self::hash_function`].
    pub fn hash(&self, data: &[u8]) -> Vec<u8> {
        use sha2::Digest as _;
        match self {
            PublicKey::P384(_) => sha2::Sha384::digest(data).to_vec(),
            _ => sha2::Sha256::digest(data).to_vec(),
        }
    }

    /// Whether `signature` (PKCS#1 v1.5, or raw `r || s`) is this key's over `H(challenge)`.
    pub fn verifies_proof(&self, challenge: &[u8], signature: &[u8]) -> bool {
        match self {
            PublicKey::Rsa(key) => rsa::pkcs1v15::Signature::try_from(signature)
                .ok()
                .is_some_and(|sig| {
                    rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key.clone())
                        .verify(challenge, &sig)
                        .is_ok()
                }),
            PublicKey::P256(key) => p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify(challenge, &sig).is_ok()),
            PublicKey::P384(key) => p384::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify(challenge, &sig).is_ok()),
        }
    }

    /// Whether `signature` is this key's over the given hash (from [`Self::hash`]).
    pub fn verifies_hash(&self, hash: &[u8], signature: &[u8]) -> bool {
        match self {
            PublicKey::Rsa(key) => {
                let Ok(sig) = rsa::pkcs1v15::Signature::try_from(signature) else {
                    return false;
                };
                let verifier = rsa::pkcs1v15::VerifyingKey::<sha2::Sha256>::new(key.clone());
                hash.len() == 32 && verifier.verify_prehash(hash, &sig).is_ok()
            }
            PublicKey::P256(key) => p256::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify_prehash(hash, &sig).is_ok()),
            PublicKey::P384(key) => p384::ecdsa::Signature::from_slice(signature)
                .is_ok_and(|sig| key.verify_prehash(hash, &sig).is_ok()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_pki::{p256_key, p384_key, rsa_key, Key};
    use der::Encode as _;
    use signature::Signer as _;

    fn spki(key: &Key) -> Vec<u8> {
        key.spki().to_der().expect("spki")
    }

    /// What the host returns for `prove-possession`: a signature over H(challenge).
    fn prove(key: &Key, challenge: &[u8]) -> Vec<u8> {
        match key {
            Key::Rsa(k) => {
                use signature::SignatureEncoding as _;
                rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(k.clone())
                    .sign(challenge)
                    .to_vec()
            }
            Key::P256(k) => {
                let s: p256::ecdsa::Signature = k.sign(challenge);
                s.to_bytes().to_vec()
            }
            Key::P384(k) => {
                let s: p384::ecdsa::Signature = k.sign(challenge);
                s.to_bytes().to_vec()
            }
        }
    }

    #[test]
    fn a_proof_of_possession_verifies_for_each_card_key_and_nothing_else() {
        let challenge = [0x5Au8; 32];
        for (key, algorithm, hash) in [
            (rsa_key(0), "RSA2048", "SHA-256"),
            (p256_key(), "P256", "SHA-256"),
            (p384_key(), "P384", "SHA-384"),
        ] {
            let public = PublicKey::from_spki_der(&spki(&key)).expect("key");
            assert_eq!(public.algorithm(), algorithm);
            assert_eq!(public.hash_function(), hash);
            let proof = prove(&key, &challenge);
            assert!(public.verifies_proof(&challenge, &proof), "{algorithm}");
            assert!(
                !public.verifies_proof(&[0x5B; 32], &proof),
                "{algorithm}: another challenge"
            );
            let mut bent = proof.clone();
            bent[10] ^= 1;
            assert!(!public.verifies_proof(&challenge, &bent), "{algorithm}");
            assert!(
                !public.verifies_proof(&challenge, &proof[1..]),
                "{algorithm}"
            );
            // The same signature read as a signature over the prehashed challenge.
            assert!(public.verifies_hash(&public.hash(&challenge), &proof));
        }
        // Another key's proof does not count.
        let other = PublicKey::from_spki_der(&spki(&p256_key())).expect("key");
        assert!(!other.verifies_proof(&challenge, &prove(&p256_key(), &challenge)));
    }

    #[test]
    fn keys_a_card_cannot_hold_are_refused() {
        assert!(matches!(
            PublicKey::from_spki_der(b"not der"),
            Err(KeyError::Malformed(_))
        ));
        let small = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 1024).expect("rsa");
        let der = {
            use spki::EncodePublicKey as _;
            small.to_public_key().to_public_key_der().expect("der")
        };
        assert!(matches!(
            PublicKey::from_spki_der(der.as_bytes()),
            Err(KeyError::Unsupported(_))
        ));
    }
}
