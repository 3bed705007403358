//! `sign`: a signature over a caller's hash with the 9C key whose certificate was named.

use crate::cards::{self, KeyUse, Naming};
use crate::errors::HostError;
use crate::handlers::to_value;
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use carecard_card::{Algorithm, Slot};
use carecard_protocol::{
    CardSelector, CryptoAlgorithm, PaddingScheme, SignArgs, SignResult, SignatureAlgorithm,
};
use serde_json::Value;

pub fn handle(args: SignArgs) -> Result<Value, HostError> {
    // The hash length was checked against hashFunction when the request was parsed.
    let hash = cards::hash_algorithm(args.hash_function);
    let prepare = |certificate: &[u8]| -> Result<KeyUse, HostError> {
        Ok(KeyUse {
            algorithm: cards::piv_algorithm(&cards::summary(certificate)?)?,
            hash,
            digest: args.hash.clone(),
        })
    };
    let selector = CardSelector::Certificate(args.certificate.clone());
    let signed = cards::sign_with_key(
        &selector,
        Slot::Signature,
        Naming::KeySlot,
        &args.pin,
        &prepare,
    );
    drop(args.pin);
    let signed = signed?;
    let piv_alg = cards::piv_algorithm(&cards::summary(&signed.certificate)?)?;
    let (crypto_algorithm, padding_scheme) = match piv_alg {
        Algorithm::Rsa2048 => (CryptoAlgorithm::Rsa, PaddingScheme::Pkcs1v15),
        _ => (CryptoAlgorithm::Ecc, PaddingScheme::None),
    };
    to_value(&SignResult {
        signature: STANDARD.encode(signed.signature),
        signature_algorithm: SignatureAlgorithm {
            crypto_algorithm,
            hash_function: args.hash_function,
            padding_scheme,
        },
    })
}
