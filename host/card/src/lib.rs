//! The host's side of a PIV smartcard (NIST SP 800-73-4): APDU and BER-TLV codecs, the
//! [`transport::Transport`] trait with chaining / GET RESPONSE handling, the PC/SC backend, the
//! PIV card edge and signature formatting. No JSON here: the host maps [`CardError`] to wire
//! error codes once.
//!
//! Everything a card answers is treated as untrusted input: lengths are checked before use and
//! every buffer that grows with card data has a fixed upper limit.

pub mod apdu;
pub mod error;
pub mod management;
pub mod pcsc_backend;
mod pcsc_common;
pub mod pinpad;
pub mod piv;
pub mod signing;
pub mod status;
pub mod tlv;
pub mod transport;
pub mod watch;

pub use error::CardError;
pub use pcsc_backend::{ExclusiveCard, Pcsc, PcscCard, ReaderInfo};
pub use pinpad::PinPad;
pub use piv::{Algorithm, PinStatus, Piv, Slot};
pub use signing::{sign_digest, HashAlgorithm};
pub use watch::ReaderWatcher;
