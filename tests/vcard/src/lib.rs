//! carecard-vcard: a PIV card (NIST SP 800-73-4) in software.
//!
//! [`VirtualCard`] answers command APDUs in memory; with a state file it persists PIN/PUK
//! counters, keys and objects after every change. [`vpcd`] plugs it into the real PC/SC stack
//! through vsmartcard's vpcd reader driver, and [`init()`] personalises a new card with a test
//! CA and NHS-style card holder certificates.

pub mod apdu;
mod card;
pub mod certs;
mod error;
pub mod hex;
mod init;
pub mod keys;
mod mgmt;
pub mod objects;
pub mod state;
pub mod summary;
pub mod tlv;
mod transport;
pub mod vpcd;

pub use card::{VirtualCard, PIV_AID};
pub use certs::{Holder, TestCa};
pub use error::VcardError;
pub use init::{
    init, pem, personalise, DEFAULT_MANAGEMENT_KEY, DEFAULT_PIN, DEFAULT_PUK, TAG_CCC, TAG_CERT_9A,
    TAG_CERT_9C, TAG_CHUID,
};
pub use state::{CardProfile, CardState};
