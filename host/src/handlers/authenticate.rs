//! `authenticate`: a Web eID 1.0 authentication token signed with the 9A key.

use crate::cards;
use crate::errors::HostError;
use crate::handlers::{pcsc, to_value};
use carecard_card::Slot;
use carecard_protocol::{authentication_digest, AuthenticateArgs, AuthenticationToken};
use serde_json::Value;

pub fn app_version() -> String {
    format!(
        "https://github.com/carecard/carecard/releases/v{}",
        env!("CARGO_PKG_VERSION")
    )
}

pub fn handle(args: AuthenticateArgs) -> Result<Value, HostError> {
    let pcsc = pcsc()?;
    let mut chosen = cards::choose(&pcsc, Slot::Authentication, args.certificate.as_deref())?;
    let summary = cards::summary(&chosen.certificate)?;
    let token_alg = cards::token_algorithm(&summary)?;
    let piv_alg = cards::piv_algorithm(&summary)?;
    let hash = token_alg.hash_function();
    let digest = authentication_digest(token_alg, &args.origin, &args.challenge_nonce);
    // The PIN is sent exactly once, and dropped (wiped) as soon as the card has answered.
    let signature = cards::verify_and_sign(
        &mut chosen,
        Slot::Authentication,
        piv_alg,
        cards::hash_algorithm(hash),
        &digest,
        args.pin.as_bytes(),
    );
    drop(args.pin);
    let token =
        AuthenticationToken::new(&chosen.certificate, token_alg, &signature?, app_version());
    to_value(&token)
}
