//! `authenticate`: a Web eID 1.0 authentication token signed with the 9A key.

use crate::cards::{self, still_holds};
use crate::errors::HostError;
use crate::handlers::{pcsc, to_value};
use carecard_card::{sign_digest, Slot};
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
    let pin = args.pin;
    let expected = chosen.certificate.clone();
    // One transaction: the certificate, the PIN and the signature all concern the same card,
    // and the PIN is sent exactly once (a closure re-run after a reset happens before VERIFY
    // reached the card: the card layer retries only on SCARD_W_RESET_CARD).
    let mut once = cards::VerifyOnce::default();
    let signature = chosen.card.transaction(|piv| {
        still_holds(piv.read_certificate(Slot::Authentication)?, &expected)?;
        once.verify(piv, pin.as_bytes())?;
        sign_digest(
            piv,
            Slot::Authentication,
            piv_alg,
            cards::hash_algorithm(hash),
            &digest,
        )
    });
    drop(pin);
    let token =
        AuthenticationToken::new(&chosen.certificate, token_alg, &signature?, app_version());
    to_value(&token)
}
