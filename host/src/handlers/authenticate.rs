//! `authenticate`: a Web eID 1.0 authentication token signed with the 9A key.

use crate::cards::{self, KeyUse, Naming, Need};
use crate::errors::HostError;
use crate::handlers::to_value;
use carecard_card::{ExclusiveCard, Slot};
use carecard_protocol::{
    authentication_digest, AuthenticateArgs, AuthenticationToken, CardSelector,
};
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
    if let (CardSelector::Session(_), Some(_)) = (&args.card, &session) {
        return in_session(args, session);
    }
    let origin = &args.origin;
    let nonce = &args.challenge_nonce;
    let prepare = |certificate: &[u8]| -> Result<KeyUse, HostError> {
        let summary = cards::summary(certificate)?;
        let token_alg = cards::token_algorithm(&summary)?;
        Ok(KeyUse {
            algorithm: cards::piv_algorithm(&summary)?,
            hash: cards::hash_algorithm(token_alg.hash_function()),
            digest: authentication_digest(token_alg, origin, nonce),
        })
    };
    // The PIN is sent exactly once, and dropped (wiped) as soon as the card has answered.
    let signed = cards::sign_with_key(
        &args.card,
        Slot::Authentication,
        Naming::EitherSlot,
        &args.pin,
        &prepare,
    );
    drop(args.pin);
    let signed = signed?;
    let token_alg = cards::token_algorithm(&cards::summary(&signed.certificate)?)?;
    let token = AuthenticationToken::new(
        &signed.certificate,
        token_alg,
        &signed.signature,
        app_version(),
    );
    to_value(&token)
}

/// In a card session: the session's card, its certificate read in the session.
fn in_session(
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
        &args.pin,
    );
    drop(args.pin);
    let token = AuthenticationToken::new(&certificate, token_alg, &signature?, app_version());
    to_value(&token)
}
