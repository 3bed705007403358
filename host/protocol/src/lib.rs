//! carecard wire contract (DESIGN.md): envelopes, error codes, typed commands and their
//! validation, the authentication digest, token and certificate summary, results and events.
//!
//! Pure: no I/O, no randomness, so it builds for wasm32 and the extension validates with the
//! very same rules as the host.

pub mod certificate;
pub mod command;
pub mod envelope;
pub mod error;
pub mod extension;
pub mod hash;
pub mod management;
pub mod nonce;
pub mod origin;
pub mod pin;
pub mod results;
pub mod token;
pub mod validation;
#[cfg(feature = "wasm")]
pub mod wasm;

pub use certificate::{CertificateSummary, KeyAlgorithm};
pub use command::{
    command_names, command_takes_origin, is_management_command, normalise_arguments,
    AuthenticateArgs, ChangePinArgs, Command, GenerateKeyArgs, ManagementAuthenticateArgs,
    PinSource, PinStatusArgs, Pins, Proof, ProvePossessionArgs, PutDataArgs, SessionOpenArgs,
    SignArgs, UnlockArgs, VerifyPinArgs, WriteCertificateArgs, PIN_ENTRY_READER,
};
pub use envelope::{parse_request, RejectedRequest, Request, Response};
pub use error::{ErrorCode, WireError};
pub use hash::{authentication_digest, authentication_signed_data, HashFunction, TokenAlgorithm};
pub use management::{
    card_id, certificate_spki_der, CardSelector, DataObject, GeneratedKey, KeyType,
    ManagementAlgorithm, SessionId,
};
pub use nonce::validate_challenge_nonce;
pub use origin::{Origin, OriginPolicy};
pub use pin::Pin;
pub use results::{
    hex_lower, hex_upper, CardCertificate, CardEntry, CardStatus, CardsResult, CertificateEntry,
    CertificateSlot, CertificatesResult, CryptoAlgorithm, Event, PaddingScheme, PcscState,
    PendingRenewal, PinStatusResult, ReaderStatus, RenewalStep, SessionOpened, SignResult,
    SignatureAlgorithm, StatusResult, PROTOCOL_VERSION,
};
pub use token::{AuthenticationToken, TOKEN_FORMAT};
pub use validation::ValidationError;
