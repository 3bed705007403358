//! `authenticate`: a Web eID 1.0 authentication token signed with the 9A key.

use crate::cards::{self, Need};
use crate::errors::HostError;
use crate::handlers::to_value;
use carecard_card::{ExclusiveCard, Slot};
use carecard_protocol::{authentication_digest, AuthenticateArgs, AuthenticationToken};
use serde_json::Value;

pub fn app_version() -> String {
    format!(
        "https://github.com/carecard/carecard/releases/v{}",
        env!("CARGO_PKG_VERSION")
    )
}

pub fn handle(
    args: AuthenticateArgs,
    session: Option<&mut ExclusiveCard>,
) -> Result<Value, HostError> {
    let resolved = cards::resolve(&args.card, session, Need::Key(Slot::Authentication))?;
    let certificate = resolved
        .certificate
        .ok_or(carecard_card::CardError::ObjectNotFound)?;
    let mut target = resolved.target;
    let summary = cards::summary(&certificate)?;
    let token_alg = cards::token_algorithm(&summary)?;
    let piv_alg = cards::piv_algorithm(&summary)?;
    let hash = token_alg.hash_function();
    let digest = authentication_digest(token_alg, &args.origin, &args.challenge_nonce);
    // The PIN is sent exactly once, and dropped (wiped) as soon as the card has answered.
    let signature = cards::verify_and_sign(
        &mut target,
        Slot::Authentication,
        piv_alg,
        cards::hash_algorithm(hash),
        &digest,
        args.pin.as_bytes(),
    );
    drop(args.pin);
    let token = AuthenticationToken::new(&certificate, token_alg, &signature?, app_version());
    to_value(&token)
}
