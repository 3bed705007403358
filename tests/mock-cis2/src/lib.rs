//! The mock CIS2 site: login with a smartcard through carecard, for developers and tests.
//!
//! - [`verify`]: the reference server-side verifier of Web eID 1.0 authentication tokens.
//! - [`nonce`]: challenge nonces bound to a browser session, single use, 5 minutes.
//! - [`server`]: the HTTP site (tiny_http) built on both.
//! - [`manage`]: the card-management service under `/manage` (CA, 9B relay, PUK release, signing).

pub mod manage;
pub mod nonce;
pub mod server;
pub mod session;
pub mod verify;

#[cfg(test)]
mod test_pki;
