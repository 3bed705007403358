//! Typed commands and the validation of their arguments.
//!
//! One table (`spec`) says which arguments each command takes; the same checks serve the host
//! (`Command::parse`, typed values) and the extension (`normalise_arguments`, JSON back).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::error::{ErrorCode, WireError};
use crate::hash::HashFunction;
use crate::nonce::validate_challenge_nonce;
use crate::origin::{Origin, OriginPolicy};
use crate::pin::Pin;
use crate::validation::ValidationError;

/// Refuse base64 arguments longer than this before decoding (a certificate is a few KiB;
/// frames are capped at 64 KiB anyway).
const MAX_BASE64_LEN: usize = 64 * 1024;

#[derive(Debug, Clone)]
pub enum Command {
    Status,
    Certificates,
    Authenticate(AuthenticateArgs),
    Sign(SignArgs),
    PinStatus(PinStatusArgs),
    ChangePin(ChangePinArgs),
    Unlock(UnlockArgs),
    Watch,
}

#[derive(Debug, Clone)]
pub struct AuthenticateArgs {
    pub origin: Origin,
    pub challenge_nonce: String,
    pub pin: Pin,
    /// DER of the certificate that picks the card; `None`: the only card present.
    pub certificate: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct SignArgs {
    pub origin: Origin,
    /// The digest to sign; its length matches `hash_function`.
    pub hash: Vec<u8>,
    pub hash_function: HashFunction,
    /// DER of the signing certificate.
    pub certificate: Vec<u8>,
    pub pin: Pin,
}

#[derive(Debug, Clone)]
pub struct PinStatusArgs {
    pub certificate: Option<Vec<u8>>,
}

#[derive(Debug, Clone)]
pub struct ChangePinArgs {
    pub pin: Pin,
    pub new_pin: Pin,
}

#[derive(Debug, Clone)]
pub struct UnlockArgs {
    pub puk: Pin,
    pub new_pin: Pin,
}

/// Every command name the host serves.
pub const COMMAND_NAMES: [&str; 8] = [
    "status",
    "certificates",
    "authenticate",
    "sign",
    "pin-status",
    "change-pin",
    "unlock",
    "watch",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Origin,
    Nonce,
    Pin,
    NewPin,
    Puk,
    Certificate,
    Hash,
    HashFunction,
}

impl Kind {
    fn is_secret(self) -> bool {
        matches!(self, Kind::Pin | Kind::NewPin | Kind::Puk)
    }
}

#[derive(Debug, Clone, Copy)]
struct Arg {
    name: &'static str,
    kind: Kind,
    required: bool,
}

const fn req(name: &'static str, kind: Kind) -> Arg {
    Arg {
        name,
        kind,
        required: true,
    }
}

const fn opt(name: &'static str, kind: Kind) -> Arg {
    Arg {
        name,
        kind,
        required: false,
    }
}

/// The arguments of each command, or `None` for an unknown command.
fn spec(command: &str) -> Option<&'static [Arg]> {
    const NONE: &[Arg] = &[];
    const AUTHENTICATE: &[Arg] = &[
        req("origin", Kind::Origin),
        req("challengeNonce", Kind::Nonce),
        req("pin", Kind::Pin),
        opt("certificate", Kind::Certificate),
    ];
    const SIGN: &[Arg] = &[
        req("origin", Kind::Origin),
        req("hash", Kind::Hash),
        req("hashFunction", Kind::HashFunction),
        req("certificate", Kind::Certificate),
        req("pin", Kind::Pin),
    ];
    const PIN_STATUS: &[Arg] = &[opt("certificate", Kind::Certificate)];
    const CHANGE_PIN: &[Arg] = &[req("pin", Kind::Pin), req("newPin", Kind::NewPin)];
    const UNLOCK: &[Arg] = &[req("puk", Kind::Puk), req("newPin", Kind::NewPin)];
    match command {
        "status" | "certificates" | "watch" => Some(NONE),
        "authenticate" => Some(AUTHENTICATE),
        "sign" => Some(SIGN),
        "pin-status" => Some(PIN_STATUS),
        "change-pin" => Some(CHANGE_PIN),
        "unlock" => Some(UNLOCK),
        _ => None,
    }
}

/// Whether the command takes an `origin` argument (the extension inserts it from the sender tab).
pub fn command_takes_origin(command: &str) -> bool {
    spec(command).is_some_and(|args| args.iter().any(|a| a.kind == Kind::Origin))
}

/// One validated argument.
enum Parsed {
    Origin(Origin),
    Text(String),
    Secret(Pin),
    Bytes(Vec<u8>),
    Hash(HashFunction),
}

/// Whether PIN-like arguments must be present (host) or may be added later by the PIN window
/// (extension, validating a page's request).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pins {
    Required,
    Later,
}

fn unknown_command(command: &str) -> WireError {
    let code = ErrorCode::UnknownCommand;
    // The name is the peer's text: quote only a bounded, printable prefix of it.
    let shown: String = command
        .chars()
        .filter(|c| !c.is_control())
        .take(40)
        .collect();
    WireError::new(code, format!("{} (\"{shown}\")", code.default_message()))
}

fn parse_one(arg: &Arg, value: &str, policy: &OriginPolicy) -> Result<Parsed, ValidationError> {
    Ok(match arg.kind {
        Kind::Origin => Parsed::Origin(Origin::parse(value, policy)?),
        Kind::Nonce => {
            validate_challenge_nonce(value)?;
            Parsed::Text(value.to_owned())
        }
        Kind::Pin => Parsed::Secret(Pin::entered(value)?),
        Kind::NewPin => Parsed::Secret(Pin::new_pin(value)?),
        Kind::Puk => Parsed::Secret(Pin::puk(value)?),
        Kind::Certificate | Kind::Hash => Parsed::Bytes(decode_base64(arg.name, value)?),
        Kind::HashFunction => Parsed::Hash(HashFunction::from_wire(value).ok_or(
            ValidationError::argument(
                "hashFunction",
                "must be one of SHA-224, SHA-256, SHA-384, SHA-512",
            ),
        )?),
    })
}

fn decode_base64(field: &'static str, value: &str) -> Result<Vec<u8>, ValidationError> {
    if value.len() > MAX_BASE64_LEN {
        return Err(ValidationError::argument(field, "is too long"));
    }
    match STANDARD.decode(value) {
        Ok(bytes) if !bytes.is_empty() => Ok(bytes),
        Ok(_) => Err(ValidationError::argument(field, "is empty")),
        Err(_) => Err(ValidationError::argument(
            field,
            "is not standard base64 with padding",
        )),
    }
}

/// Validates every argument the command takes; unknown arguments are ignored.
fn validate(
    command: &str,
    arguments: &Value,
    policy: &OriginPolicy,
    pins: Pins,
) -> Result<Vec<(&'static str, Parsed)>, WireError> {
    let spec = spec(command).ok_or_else(|| unknown_command(command))?;
    let empty = Map::new();
    let object = match arguments {
        Value::Object(map) => map,
        Value::Null => &empty,
        _ => {
            return Err(ValidationError::argument("arguments", "must be a JSON object").into());
        }
    };
    let mut parsed = Vec::with_capacity(spec.len());
    for arg in spec {
        match object.get(arg.name) {
            None | Some(Value::Null) => {
                let may_come_later = pins == Pins::Later && arg.kind.is_secret();
                if arg.required && !may_come_later {
                    return Err(ValidationError::argument(arg.name, "is missing").into());
                }
            }
            Some(Value::String(s)) => parsed.push((arg.name, parse_one(arg, s, policy)?)),
            Some(_) => return Err(ValidationError::argument(arg.name, "must be a string").into()),
        }
    }
    check_hash_length(&parsed)?;
    Ok(parsed)
}

/// DESIGN.md `sign`: the hash must be exactly as long as its hash function's output.
fn check_hash_length(parsed: &[(&'static str, Parsed)]) -> Result<(), ValidationError> {
    let function = parsed.iter().find_map(|(_, p)| match p {
        Parsed::Hash(h) => Some(*h),
        _ => None,
    });
    let hash = parsed.iter().find_map(|(name, p)| match (name, p) {
        (&"hash", Parsed::Bytes(b)) => Some(b.len()),
        _ => None,
    });
    match (function, hash) {
        (Some(f), Some(len)) if f.digest_len() != len => Err(ValidationError::argument(
            "hash",
            "does not have the length of its hashFunction",
        )),
        _ => Ok(()),
    }
}

/// Takes the validated arguments apart by name.
struct Fields(Vec<(&'static str, Parsed)>);

impl Fields {
    fn take(&mut self, name: &'static str) -> Result<Parsed, ValidationError> {
        let index = self
            .0
            .iter()
            .position(|(n, _)| *n == name)
            .ok_or(ValidationError::argument(name, "is missing"))?;
        Ok(self.0.swap_remove(index).1)
    }

    fn origin(&mut self, name: &'static str) -> Result<Origin, ValidationError> {
        match self.take(name)? {
            Parsed::Origin(o) => Ok(o),
            _ => Err(ValidationError::argument(name, "has the wrong type")),
        }
    }

    fn text(&mut self, name: &'static str) -> Result<String, ValidationError> {
        match self.take(name)? {
            Parsed::Text(t) => Ok(t),
            _ => Err(ValidationError::argument(name, "has the wrong type")),
        }
    }

    fn pin(&mut self, name: &'static str) -> Result<Pin, ValidationError> {
        match self.take(name)? {
            Parsed::Secret(p) => Ok(p),
            _ => Err(ValidationError::argument(name, "has the wrong type")),
        }
    }

    fn bytes(&mut self, name: &'static str) -> Result<Vec<u8>, ValidationError> {
        match self.take(name)? {
            Parsed::Bytes(b) => Ok(b),
            _ => Err(ValidationError::argument(name, "has the wrong type")),
        }
    }

    fn optional_bytes(&mut self, name: &'static str) -> Result<Option<Vec<u8>>, ValidationError> {
        if self.0.iter().any(|(n, _)| *n == name) {
            self.bytes(name).map(Some)
        } else {
            Ok(None)
        }
    }

    fn hash_function(&mut self, name: &'static str) -> Result<HashFunction, ValidationError> {
        match self.take(name)? {
            Parsed::Hash(h) => Ok(h),
            _ => Err(ValidationError::argument(name, "has the wrong type")),
        }
    }
}

impl Command {
    /// Validates a request's command and arguments.
    ///
    /// Unknown command → `ERR_UNKNOWN_COMMAND`; missing, ill-typed or malformed argument
    /// (origin and nonce included) → `ERR_INVALID_REQUEST`; PIN/PUK of the wrong shape →
    /// `ERR_PIN_FORMAT`.
    pub fn parse(
        command: &str,
        arguments: &Value,
        policy: &OriginPolicy,
    ) -> Result<Command, WireError> {
        let mut f = Fields(validate(command, arguments, policy, Pins::Required)?);
        let typed = match command {
            "status" => Command::Status,
            "certificates" => Command::Certificates,
            "watch" => Command::Watch,
            "authenticate" => Command::Authenticate(AuthenticateArgs {
                origin: f.origin("origin")?,
                challenge_nonce: f.text("challengeNonce")?,
                pin: f.pin("pin")?,
                certificate: f.optional_bytes("certificate")?,
            }),
            "sign" => Command::Sign(SignArgs {
                origin: f.origin("origin")?,
                hash: f.bytes("hash")?,
                hash_function: f.hash_function("hashFunction")?,
                certificate: f.bytes("certificate")?,
                pin: f.pin("pin")?,
            }),
            "pin-status" => Command::PinStatus(PinStatusArgs {
                certificate: f.optional_bytes("certificate")?,
            }),
            "change-pin" => Command::ChangePin(ChangePinArgs {
                pin: f.pin("pin")?,
                new_pin: f.pin("newPin")?,
            }),
            "unlock" => Command::Unlock(UnlockArgs {
                puk: f.pin("puk")?,
                new_pin: f.pin("newPin")?,
            }),
            other => return Err(unknown_command(other)),
        };
        Ok(typed)
    }

    /// The wire name of the command.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Status => "status",
            Command::Certificates => "certificates",
            Command::Authenticate(_) => "authenticate",
            Command::Sign(_) => "sign",
            Command::PinStatus(_) => "pin-status",
            Command::ChangePin(_) => "change-pin",
            Command::Unlock(_) => "unlock",
            Command::Watch => "watch",
        }
    }
}

/// Validates a request's arguments and returns them normalised for the host: only the known
/// arguments, the origin in its normalised form, base64 fields as the strings given.
///
/// With `Pins::Later`, absent PIN/PUK arguments are allowed (the PIN window adds them), but a
/// PIN that is present must have the right shape. The caller inserts the origin it derived.
pub fn normalise_arguments(
    command: &str,
    arguments: &Value,
    policy: &OriginPolicy,
    pins: Pins,
) -> Result<Map<String, Value>, WireError> {
    let parsed = validate(command, arguments, policy, pins)?;
    let mut out = Map::new();
    for (name, value) in parsed {
        let text = match value {
            Parsed::Origin(o) => o.as_str().to_owned(),
            Parsed::Text(t) => t,
            Parsed::Secret(p) => p.as_str().to_owned(),
            Parsed::Hash(h) => h.as_str().to_owned(),
            // Keep the caller's base64 text; it was checked to decode.
            Parsed::Bytes(_) => match arguments.get(name) {
                Some(Value::String(s)) => s.clone(),
                _ => return Err(ValidationError::argument(name, "is missing").into()),
            },
        };
        out.insert(name.to_owned(), Value::String(text));
    }
    Ok(out)
}
