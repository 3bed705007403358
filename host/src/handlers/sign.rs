//! `sign`: a signature over a caller's hash with the 9C key whose certificate was named.

use crate::cards::{self, still_holds};
use crate::errors::HostError;
use crate::handlers::{pcsc, to_value};
use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use carecard_card::{sign_digest, Algorithm, Slot};
use carecard_protocol::{
    CryptoAlgorithm, ErrorCode, PaddingScheme, SignArgs, SignResult, SignatureAlgorithm,
};
use serde_json::Value;

pub fn handle(args: SignArgs) -> Result<Value, HostError> {
    if args.hash.len() != args.hash_function.digest_len() {
        return Err(HostError::wire(
            ErrorCode::InvalidRequest,
            format!("The hash is not a {} digest.", args.hash_function.as_str()),
        ));
    }
    let pcsc = pcsc()?;
    let mut chosen = cards::choose(&pcsc, Slot::Signature, Some(&args.certificate))?;
    let summary = cards::summary(&chosen.certificate)?;
    let piv_alg = cards::piv_algorithm(&summary)?;
    let hash = cards::hash_algorithm(args.hash_function);
    let pin = args.pin;
    let expected = chosen.certificate.clone();
    let mut once = cards::VerifyOnce::default();
    let signature = chosen.card.transaction(|piv| {
        still_holds(piv.read_certificate(Slot::Signature)?, &expected)?;
        once.verify(piv, pin.as_bytes())?;
        sign_digest(piv, Slot::Signature, piv_alg, hash, &args.hash)
    });
    drop(pin);
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
