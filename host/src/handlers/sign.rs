//! `sign`: a signature over a caller's hash with the 9C key whose certificate was named.

use crate::cards;
use crate::errors::HostError;
use crate::handlers::{pcsc, to_value};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use carecard_card::{Algorithm, Slot};
use carecard_protocol::{CryptoAlgorithm, PaddingScheme, SignArgs, SignResult, SignatureAlgorithm};
use serde_json::Value;

pub fn handle(args: SignArgs) -> Result<Value, HostError> {
    // The hash length was checked against hashFunction when the request was parsed.
    let pcsc = pcsc()?;
    let chosen = cards::choose(&pcsc, Slot::Signature, Some(&args.certificate))?;
    let summary = cards::summary(&chosen.certificate)?;
    let piv_alg = cards::piv_algorithm(&summary)?;
    let hash = cards::hash_algorithm(args.hash_function);
    let mut target = cards::Target::Shared(chosen.card);
    let signature = cards::verify_and_sign(
        &mut target,
        Slot::Signature,
        piv_alg,
        hash,
        &args.hash,
        args.pin.as_bytes(),
    );
    drop(args.pin);
    let (crypto_algorithm, padding_scheme) = match piv_alg {
        Algorithm::Rsa2048 => (CryptoAlgorithm::Rsa, PaddingScheme::Pkcs1v15),
        _ => (CryptoAlgorithm::Ecc, PaddingScheme::None),
    };
    to_value(&SignResult {
        signature: STANDARD.encode(signature?),
        signature_algorithm: SignatureAlgorithm {
            crypto_algorithm,
            hash_function: args.hash_function,
            padding_scheme,
        },
    })
}
