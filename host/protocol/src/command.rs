//! Typed commands and the validation of their arguments.
//!
//! One table (`spec`) says which arguments each command takes; the same checks serve the host
//! (`Command::parse`, typed values) and the extension (`normalise_arguments`, JSON back).

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::{Map, Value};

use crate::error::{ErrorCode, WireError};
use crate::hash::HashFunction;
use crate::management::{
    parse_key_slot, CardSelector, DataObject, KeyType, ManagementAlgorithm, SessionId,
};
use crate::nonce::validate_challenge_nonce;
use crate::origin::{Origin, OriginPolicy};
use crate::pin::Pin;
use crate::results::CertificateSlot;
use crate::validation::ValidationError;

/// Refuse base64 arguments longer than this before decoding (a certificate is a few KiB;
/// frames are capped at 64 KiB anyway).
const MAX_BASE64_LEN: usize = 64 * 1024;
/// A reader name as PC/SC gives it is well under this.
const MAX_READER_LEN: usize = 128;
/// The `7C` contents of one 9B authentication step: witness/challenge/response items of at most
/// 16 bytes each, with their headers.
const MAX_TEMPLATE: usize = 64;
/// Proof-of-possession challenges: 16 to 64 random bytes from the server.
const CHALLENGE_LEN: std::ops::RangeInclusive<usize> = 16..=64;
/// `prove-possession` proves at most one key per certificate slot (9A, 9C) in one request.
const MAX_PROOFS: usize = 2;
/// A certificate object holds at most 16 KiB (the card crate's limit too).
const MAX_CERTIFICATE: usize = 16 * 1024;
/// CHUID, CCC and printed information are a few hundred bytes.
const MAX_DATA_OBJECT: usize = 4 * 1024;

#[derive(Debug, Clone)]
pub enum Command {
    Status,
    Certificates,
    Cards,
    Authenticate(AuthenticateArgs),
    Sign(SignArgs),
    PinStatus(PinStatusArgs),
    ChangePin(ChangePinArgs),
    Unlock(UnlockArgs),
    Watch,
    SessionOpen(SessionOpenArgs),
    SessionClose(SessionId),
    VerifyPin(VerifyPinArgs),
    ManagementAuthenticate(ManagementAuthenticateArgs),
    GenerateKey(GenerateKeyArgs),
    ProvePossession(ProvePossessionArgs),
    WriteCertificate(WriteCertificateArgs),
    PutData(PutDataArgs),
}

/// Where the PIN of a request comes from: typed in the extension's window (the request carries
/// it in `pin`), or on the PIN pad of the card's reader (`"pinEntry": "reader"`, no `pin`: the
/// host never sees it; PC/SC part 10).
#[derive(Debug, Clone)]
pub enum PinSource {
    Typed(Pin),
    Reader,
}

impl PinSource {
    /// The PIN the request carries, `None` for reader entry.
    pub fn typed(&self) -> Option<&Pin> {
        match self {
            PinSource::Typed(pin) => Some(pin),
            PinSource::Reader => None,
        }
    }
}

/// `pinEntry` values: `"window"` (the default: the PIN is in `pin`) or `"reader"`.
pub const PIN_ENTRY_READER: &str = "reader";
const PIN_ENTRY_WINDOW: &str = "window";

#[derive(Debug, Clone)]
pub struct AuthenticateArgs {
    pub origin: Origin,
    pub challenge_nonce: String,
    pub pin: PinSource,
    pub card: CardSelector,
}

#[derive(Debug, Clone)]
pub struct SignArgs {
    pub origin: Origin,
    /// The digest to sign; its length matches `hash_function`.
    pub hash: Vec<u8>,
    pub hash_function: HashFunction,
    /// DER of the signing certificate: it names the card and the key.
    pub certificate: Vec<u8>,
    pub pin: PinSource,
}

#[derive(Debug, Clone)]
pub struct PinStatusArgs {
    pub card: CardSelector,
}

#[derive(Debug, Clone)]
pub struct ChangePinArgs {
    /// `Reader`: the current PIN and the new one (twice) are typed on the reader's PIN pad, and
    /// `new_pin` is `None`; `Typed`: `new_pin` is `Some`.
    pub pin: PinSource,
    pub new_pin: Option<Pin>,
    pub card: CardSelector,
}

#[derive(Debug, Clone)]
pub struct UnlockArgs {
    pub puk: Pin,
    pub new_pin: Pin,
    pub card: CardSelector,
}

/// `session-open`: the card by certificate or reader (never by another session).
#[derive(Debug, Clone)]
pub struct SessionOpenArgs {
    pub card: CardSelector,
}

#[derive(Debug, Clone)]
pub struct VerifyPinArgs {
    pub session: SessionId,
    pub pin: PinSource,
}

#[derive(Debug, Clone)]
pub struct ManagementAuthenticateArgs {
    pub session: SessionId,
    pub algorithm: ManagementAlgorithm,
    /// Contents of the `7C` template the server built (witness, challenge or response items).
    pub template: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct GenerateKeyArgs {
    pub session: SessionId,
    pub slot: CertificateSlot,
    pub algorithm: KeyType,
}

/// `prove-possession`: one PIN for one or more keys. The host VERIFYs once, generates the keys
/// asked for, and VERIFYs again right before each PIN-always key (9C) — the PIN is wiped when the
/// request ends, never kept for the next.
#[derive(Debug, Clone)]
pub struct ProvePossessionArgs {
    pub session: SessionId,
    /// In request order; distinct slots.
    pub proofs: Vec<Proof>,
    /// Given as `proofs` (the result is `{"proofs": [...]}`), or as the single `slot` and
    /// `challenge` of the first form (the result is that one proof's object).
    pub listed: bool,
    pub pin: PinSource,
}

/// One key to prove: the server's challenge, signed (its hash) by the slot's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub slot: CertificateSlot,
    pub challenge: Vec<u8>,
    /// Generate a new key of this type in the slot first (after the PIN was verified in this
    /// same request: the holder's consent), journalled as `generate-key` is.
    pub generate: Option<KeyType>,
}

#[derive(Debug, Clone)]
pub struct WriteCertificateArgs {
    pub session: SessionId,
    pub slot: CertificateSlot,
    pub certificate: Vec<u8>,
}

#[derive(Debug, Clone)]
pub struct PutDataArgs {
    pub session: SessionId,
    pub object: DataObject,
    pub data: Vec<u8>,
}

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
    Reader,
    Session,
    KeySlot,
    KeyType,
    ManagementAlgorithm,
    Template,
    Challenge,
    DataObject,
    Data,
    /// A JSON array of `{slot, challenge, generate?}` (the one argument that is not a string).
    Proofs,
    /// `pinEntry`: `"window"` or `"reader"`.
    PinEntry,
}

impl Kind {
    fn is_secret(self) -> bool {
        matches!(self, Kind::Pin | Kind::NewPin | Kind::Puk)
    }

    /// The holder's PIN, which a PIN-pad reader takes instead (the PUK never is).
    fn is_holder_pin(self) -> bool {
        matches!(self, Kind::Pin | Kind::NewPin)
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

/// The three ways of naming a card; a request gives at most one.
const SELECTORS: [&str; 3] = ["certificate", "reader", "session"];
const BY_CERTIFICATE: Arg = opt("certificate", Kind::Certificate);
const BY_READER: Arg = opt("reader", Kind::Reader);
const BY_SESSION: Arg = opt("session", Kind::Session);
const IN_SESSION: Arg = req("session", Kind::Session);
const PIN_ENTRY: Arg = opt("pinEntry", Kind::PinEntry);

/// One command: its wire name, its arguments, and how the validated arguments become the typed
/// command. Every other list of commands is derived from this table.
struct Spec {
    name: &'static str,
    args: &'static [Arg],
    build: fn(&mut Fields) -> Result<Command, ValidationError>,
}

const SPECS: &[Spec] = &[
    Spec {
        name: "status",
        args: &[],
        build: |_| Ok(Command::Status),
    },
    Spec {
        name: "certificates",
        args: &[],
        build: |_| Ok(Command::Certificates),
    },
    Spec {
        name: "cards",
        args: &[],
        build: |_| Ok(Command::Cards),
    },
    Spec {
        name: "authenticate",
        args: &[
            req("origin", Kind::Origin),
            req("challengeNonce", Kind::Nonce),
            req("pin", Kind::Pin),
            PIN_ENTRY,
            BY_CERTIFICATE,
            BY_READER,
            BY_SESSION,
        ],
        build: |f| {
            Ok(Command::Authenticate(AuthenticateArgs {
                origin: f.origin("origin")?,
                challenge_nonce: f.text("challengeNonce")?,
                pin: f.pin_source()?,
                card: f.card()?,
            }))
        },
    },
    Spec {
        name: "sign",
        args: &[
            req("origin", Kind::Origin),
            req("hash", Kind::Hash),
            req("hashFunction", Kind::HashFunction),
            req("certificate", Kind::Certificate),
            req("pin", Kind::Pin),
            PIN_ENTRY,
        ],
        build: |f| {
            Ok(Command::Sign(SignArgs {
                origin: f.origin("origin")?,
                hash: f.bytes("hash")?,
                hash_function: f.hash_function("hashFunction")?,
                certificate: f.bytes("certificate")?,
                pin: f.pin_source()?,
            }))
        },
    },
    Spec {
        name: "pin-status",
        args: &[BY_CERTIFICATE, BY_READER, BY_SESSION],
        build: |f| Ok(Command::PinStatus(PinStatusArgs { card: f.card()? })),
    },
    Spec {
        name: "change-pin",
        args: &[
            req("pin", Kind::Pin),
            req("newPin", Kind::NewPin),
            PIN_ENTRY,
            BY_CERTIFICATE,
            BY_READER,
            BY_SESSION,
        ],
        build: |f| {
            let pin = f.pin_source()?;
            let new_pin = match pin {
                PinSource::Typed(_) => Some(f.pin("newPin")?),
                PinSource::Reader => None,
            };
            Ok(Command::ChangePin(ChangePinArgs {
                pin,
                new_pin,
                card: f.card()?,
            }))
        },
    },
    Spec {
        name: "unlock",
        args: &[
            req("puk", Kind::Puk),
            req("newPin", Kind::NewPin),
            BY_CERTIFICATE,
            BY_READER,
            BY_SESSION,
        ],
        build: |f| {
            Ok(Command::Unlock(UnlockArgs {
                puk: f.pin("puk")?,
                new_pin: f.pin("newPin")?,
                card: f.card()?,
            }))
        },
    },
    Spec {
        name: "watch",
        args: &[],
        build: |_| Ok(Command::Watch),
    },
    Spec {
        name: "session-open",
        args: &[BY_CERTIFICATE, BY_READER],
        build: |f| Ok(Command::SessionOpen(SessionOpenArgs { card: f.card()? })),
    },
    Spec {
        name: "session-close",
        args: &[IN_SESSION],
        build: |f| Ok(Command::SessionClose(f.session()?)),
    },
    Spec {
        name: "verify-pin",
        args: &[IN_SESSION, req("pin", Kind::Pin), PIN_ENTRY],
        build: |f| {
            Ok(Command::VerifyPin(VerifyPinArgs {
                session: f.session()?,
                pin: f.pin_source()?,
            }))
        },
    },
    Spec {
        name: "management-authenticate",
        args: &[
            IN_SESSION,
            req("algorithm", Kind::ManagementAlgorithm),
            req("template", Kind::Template),
        ],
        build: |f| {
            Ok(Command::ManagementAuthenticate(
                ManagementAuthenticateArgs {
                    session: f.session()?,
                    algorithm: f.management_algorithm("algorithm")?,
                    template: f.bytes("template")?,
                },
            ))
        },
    },
    Spec {
        name: "generate-key",
        args: &[
            IN_SESSION,
            req("slot", Kind::KeySlot),
            req("algorithm", Kind::KeyType),
        ],
        build: |f| {
            Ok(Command::GenerateKey(GenerateKeyArgs {
                session: f.session()?,
                slot: f.key_slot("slot")?,
                algorithm: f.key_type("algorithm")?,
            }))
        },
    },
    Spec {
        name: "prove-possession",
        args: &[
            IN_SESSION,
            opt("slot", Kind::KeySlot),
            opt("challenge", Kind::Challenge),
            opt("proofs", Kind::Proofs),
            req("pin", Kind::Pin),
            PIN_ENTRY,
        ],
        build: |f| {
            let session = f.session()?;
            let (proofs, listed) = if f.has("proofs") {
                (f.proofs("proofs")?, true)
            } else {
                let proof = Proof {
                    slot: f.key_slot("slot")?,
                    challenge: f.bytes("challenge")?,
                    generate: None,
                };
                (vec![proof], false)
            };
            Ok(Command::ProvePossession(ProvePossessionArgs {
                session,
                proofs,
                listed,
                pin: f.pin_source()?,
            }))
        },
    },
    Spec {
        name: "write-certificate",
        args: &[
            IN_SESSION,
            req("slot", Kind::KeySlot),
            req("certificate", Kind::Certificate),
        ],
        build: |f| {
            Ok(Command::WriteCertificate(WriteCertificateArgs {
                session: f.session()?,
                slot: f.key_slot("slot")?,
                certificate: f.bytes("certificate")?,
            }))
        },
    },
    Spec {
        name: "put-data",
        args: &[
            IN_SESSION,
            req("object", Kind::DataObject),
            req("data", Kind::Data),
        ],
        build: |f| {
            Ok(Command::PutData(PutDataArgs {
                session: f.session()?,
                object: f.data_object("object")?,
                data: f.bytes("data")?,
            }))
        },
    },
];

fn find_spec(command: &str) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.name == command)
}

/// Every command name the host serves, in the table's order.
pub fn command_names() -> impl Iterator<Item = &'static str> {
    SPECS.iter().map(|s| s.name)
}

/// Whether the command takes an `origin` argument (the extension inserts it from the sender tab).
pub fn command_takes_origin(command: &str) -> bool {
    find_spec(command).is_some_and(|s| s.args.iter().any(|a| a.kind == Kind::Origin))
}

/// Card-management commands: `session-open` and every command that runs only inside a card
/// session. The extension serves them only to the policy's card-management origins.
pub fn is_management_command(command: &str) -> bool {
    command == "session-open"
        || find_spec(command)
            .is_some_and(|s| s.args.iter().any(|a| a.required && a.kind == Kind::Session))
}

/// One validated argument.
enum Parsed {
    Origin(Origin),
    /// Text kept as given (nonce, reader) or in its one wire spelling (enumerations).
    Text(String),
    Secret(Pin),
    Bytes(Vec<u8>),
    Hash(HashFunction),
    /// `proofs`, with each entry normalised (its known fields only) for the extension.
    Proofs(Vec<Proof>, Value),
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

/// Checks an enumerated argument against its wire spellings.
fn one_of(
    arg: &Arg,
    value: &str,
    known: bool,
    problem: &'static str,
) -> Result<Parsed, ValidationError> {
    if known {
        Ok(Parsed::Text(value.to_owned()))
    } else {
        Err(ValidationError::argument(arg.name, problem))
    }
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
        Kind::Certificate => Parsed::Bytes(decode_sized(arg.name, value, 1..=MAX_CERTIFICATE)?),
        Kind::Hash => Parsed::Bytes(decode_base64(arg.name, value)?),
        Kind::Template => Parsed::Bytes(decode_sized(arg.name, value, 1..=MAX_TEMPLATE)?),
        Kind::Challenge => Parsed::Bytes(decode_sized(arg.name, value, CHALLENGE_LEN)?),
        Kind::Data => Parsed::Bytes(decode_sized(arg.name, value, 1..=MAX_DATA_OBJECT)?),
        Kind::HashFunction => Parsed::Hash(HashFunction::from_wire(value).ok_or(
            ValidationError::argument(
                "hashFunction",
                "must be one of SHA-224, SHA-256, SHA-384, SHA-512",
            ),
        )?),
        Kind::Reader => {
            let printable = value.chars().all(|c| !c.is_control());
            if value.is_empty() || value.len() > MAX_READER_LEN || !printable {
                return Err(ValidationError::argument(
                    arg.name,
                    "must be a reader name of 1 to 128 printable characters",
                ));
            }
            Parsed::Text(value.to_owned())
        }
        Kind::Session => one_of(
            arg,
            value,
            SessionId::parse(value).is_some(),
            "is not a card session id",
        )?,
        Kind::KeySlot => one_of(
            arg,
            value,
            parse_key_slot(value).is_some(),
            "must be 9A or 9C",
        )?,
        Kind::KeyType => one_of(
            arg,
            value,
            KeyType::from_wire(value).is_some(),
            "must be RSA2048, P256 or P384",
        )?,
        Kind::ManagementAlgorithm => one_of(
            arg,
            value,
            ManagementAlgorithm::from_wire(value).is_some(),
            "must be 3DES, AES128, AES192 or AES256",
        )?,
        Kind::DataObject => one_of(
            arg,
            value,
            DataObject::from_wire(value).is_some(),
            "must be CHUID, CCC or PRINTED",
        )?,
        Kind::PinEntry => one_of(
            arg,
            value,
            value == PIN_ENTRY_READER || value == PIN_ENTRY_WINDOW,
            "must be window or reader",
        )?,
        Kind::Proofs => {
            return Err(ValidationError::argument(
                arg.name,
                "must be a list of {slot, challenge, generate?}",
            ))
        }
    })
}

/// `proofs`: 1 or 2 objects `{slot, challenge, generate?}` with distinct slots; each field is
/// checked as the single form's argument of that name. Returns the proofs and their normalised
/// JSON (known fields only).
fn parse_proofs(value: &Value) -> Result<Parsed, ValidationError> {
    const FIELD: &str = "proofs";
    let shape = "must be a list of {slot, challenge, generate?}";
    let entries = value
        .as_array()
        .ok_or(ValidationError::argument(FIELD, shape))?;
    if entries.is_empty() || entries.len() > MAX_PROOFS {
        return Err(ValidationError::argument(
            FIELD,
            "must hold one or two proofs (9A, 9C)",
        ));
    }
    let policy = OriginPolicy::default();
    let mut proofs = Vec::with_capacity(entries.len());
    let mut normalised = Vec::with_capacity(entries.len());
    for entry in entries {
        let object = entry
            .as_object()
            .ok_or(ValidationError::argument(FIELD, shape))?;
        let text = |name: &str, required: bool| match object.get(name) {
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            None | Some(Value::Null) if !required => Ok(None),
            _ => Err(ValidationError::argument(FIELD, shape)),
        };
        let slot_text = text("slot", true)?.unwrap_or_default();
        let challenge_text = text("challenge", true)?.unwrap_or_default();
        let generate_text = text("generate", false)?;
        let slot = parse_key_slot(slot_text)
            .ok_or(ValidationError::argument(FIELD, "slot must be 9A or 9C"))?;
        let challenge =
            match parse_one(&req("challenge", Kind::Challenge), challenge_text, &policy)? {
                Parsed::Bytes(b) => b,
                _ => return Err(ValidationError::argument(FIELD, shape)),
            };
        let generate = match generate_text {
            Some(t) => Some(KeyType::from_wire(t).ok_or(ValidationError::argument(
                FIELD,
                "generate must be RSA2048, P256 or P384",
            ))?),
            None => None,
        };
        if proofs.iter().any(|p: &Proof| p.slot == slot) {
            return Err(ValidationError::argument(FIELD, "names a slot twice"));
        }
        let mut out = Map::new();
        out.insert("slot".into(), Value::String(slot_text.to_owned()));
        out.insert("challenge".into(), Value::String(challenge_text.to_owned()));
        if let Some(t) = generate_text {
            out.insert("generate".into(), Value::String(t.to_owned()));
        }
        normalised.push(Value::Object(out));
        proofs.push(Proof {
            slot,
            challenge,
            generate,
        });
    }
    Ok(Parsed::Proofs(proofs, Value::Array(normalised)))
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

/// Base64 whose decoded size must lie in `range` (checked on the encoded length first, so a
/// peer's claim is never decoded past the limit).
fn decode_sized(
    field: &'static str,
    value: &str,
    range: std::ops::RangeInclusive<usize>,
) -> Result<Vec<u8>, ValidationError> {
    if value.len() > range.end().div_ceil(3) * 4 {
        return Err(ValidationError::argument(field, "is too long"));
    }
    let bytes = decode_base64(field, value)?;
    if !range.contains(&bytes.len()) {
        return Err(ValidationError::argument(field, "has the wrong length"));
    }
    Ok(bytes)
}

/// Validates every argument the command takes; unknown arguments are ignored.
fn validate(
    command: &str,
    arguments: &Value,
    policy: &OriginPolicy,
    pins: Pins,
) -> Result<Vec<(&'static str, Parsed)>, WireError> {
    let spec = find_spec(command).ok_or_else(|| unknown_command(command))?;
    let empty = Map::new();
    let object = match arguments {
        Value::Object(map) => map,
        Value::Null => &empty,
        _ => {
            return Err(ValidationError::argument("arguments", "must be a JSON object").into());
        }
    };
    let mut parsed = Vec::with_capacity(spec.args.len());
    // With `"pinEntry": "reader"` the reader's PIN pad takes the holder's PIN: the request must
    // not carry one.
    let on_reader = spec.args.iter().any(|a| a.kind == Kind::PinEntry)
        && object.get("pinEntry").and_then(Value::as_str) == Some(PIN_ENTRY_READER);
    for arg in spec.args {
        let present = !matches!(object.get(arg.name), None | Some(Value::Null));
        if on_reader && arg.kind.is_holder_pin() && present {
            return Err(ValidationError::argument(
                arg.name,
                "cannot be given with pinEntry reader: the PIN is typed on the reader",
            )
            .into());
        }
        match object.get(arg.name) {
            None | Some(Value::Null) => {
                let may_come_later = pins == Pins::Later && arg.kind.is_secret();
                let on_pad = on_reader && arg.kind.is_holder_pin();
                if arg.required && !may_come_later && !on_pad {
                    return Err(ValidationError::argument(arg.name, "is missing").into());
                }
            }
            Some(value) if arg.kind == Kind::Proofs => {
                parsed.push((arg.name, parse_proofs(value)?))
            }
            Some(Value::String(s)) => parsed.push((arg.name, parse_one(arg, s, policy)?)),
            Some(_) => return Err(ValidationError::argument(arg.name, "must be a string").into()),
        }
    }
    check_one_selector(spec, &parsed)?;
    check_proof_form(spec, &parsed)?;
    check_hash_length(&parsed)?;
    Ok(parsed)
}

/// A request names its card one way at most. Only the optional selectors are alternatives: a
/// required `session` or `certificate` (`sign`, `write-certificate`) is part of the command.
fn check_one_selector(
    spec: &Spec,
    parsed: &[(&'static str, Parsed)],
) -> Result<(), ValidationError> {
    let is_alternative = |name: &str| {
        SELECTORS.contains(&name) && spec.args.iter().any(|a| a.name == name && !a.required)
    };
    let given = parsed
        .iter()
        .filter(|(name, _)| is_alternative(name))
        .count();
    if given > 1 {
        return Err(ValidationError::argument(
            "certificate",
            "cannot be combined with reader or session: name the card one way",
        ));
    }
    Ok(())
}

/// `prove-possession` takes its keys one way: `proofs`, or the single `slot` and `challenge`.
fn check_proof_form(spec: &Spec, parsed: &[(&'static str, Parsed)]) -> Result<(), ValidationError> {
    if !spec.args.iter().any(|a| a.kind == Kind::Proofs) {
        return Ok(());
    }
    let has = |name: &str| parsed.iter().any(|(n, _)| *n == name);
    match (has("proofs"), has("slot"), has("challenge")) {
        (true, false, false) | (false, true, true) => Ok(()),
        (true, _, _) => Err(ValidationError::argument(
            "proofs",
            "cannot be combined with slot or challenge",
        )),
        (false, false, _) => Err(ValidationError::argument("slot", "is missing")),
        (false, true, false) => Err(ValidationError::argument("challenge", "is missing")),
    }
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

    fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| *n == name)
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

    /// `pin`, or the reader's PIN pad when `pinEntry` is `"reader"` (then `validate` made sure
    /// no PIN was given).
    fn pin_source(&mut self) -> Result<PinSource, ValidationError> {
        let entry = if self.has("pinEntry") {
            self.text("pinEntry")?
        } else {
            String::new()
        };
        if entry == PIN_ENTRY_READER {
            Ok(PinSource::Reader)
        } else {
            Ok(PinSource::Typed(self.pin("pin")?))
        }
    }

    fn proofs(&mut self, name: &'static str) -> Result<Vec<Proof>, ValidationError> {
        match self.take(name)? {
            Parsed::Proofs(p, _) => Ok(p),
            _ => Err(ValidationError::argument(name, "has the wrong type")),
        }
    }

    fn hash_function(&mut self, name: &'static str) -> Result<HashFunction, ValidationError> {
        match self.take(name)? {
            Parsed::Hash(h) => Ok(h),
            _ => Err(ValidationError::argument(name, "has the wrong type")),
        }
    }

    /// An enumerated argument, already checked against its spellings by `parse_one`.
    fn enumerated<T>(
        &mut self,
        name: &'static str,
        from_wire: impl Fn(&str) -> Option<T>,
    ) -> Result<T, ValidationError> {
        let text = self.text(name)?;
        from_wire(&text).ok_or(ValidationError::argument(name, "has an unknown value"))
    }

    fn session(&mut self) -> Result<SessionId, ValidationError> {
        self.enumerated("session", SessionId::parse)
    }

    fn key_slot(&mut self, name: &'static str) -> Result<CertificateSlot, ValidationError> {
        self.enumerated(name, parse_key_slot)
    }

    fn key_type(&mut self, name: &'static str) -> Result<KeyType, ValidationError> {
        self.enumerated(name, KeyType::from_wire)
    }

    fn management_algorithm(
        &mut self,
        name: &'static str,
    ) -> Result<ManagementAlgorithm, ValidationError> {
        self.enumerated(name, ManagementAlgorithm::from_wire)
    }

    fn data_object(&mut self, name: &'static str) -> Result<DataObject, ValidationError> {
        self.enumerated(name, DataObject::from_wire)
    }

    /// The card selector (at most one was given: `check_one_selector`).
    fn card(&mut self) -> Result<CardSelector, ValidationError> {
        Ok(if self.has("certificate") {
            CardSelector::Certificate(self.bytes("certificate")?)
        } else if self.has("reader") {
            CardSelector::Reader(self.text("reader")?)
        } else if self.has("session") {
            CardSelector::Session(self.session()?)
        } else {
            CardSelector::Any
        })
    }
}

impl Command {
    /// Validates a request's command and arguments.
    ///
    /// Unknown command → `ERR_UNKNOWN_COMMAND`; missing, ill-typed or malformed argument
    /// (origin and nonce included), or two card selectors → `ERR_INVALID_REQUEST`; PIN/PUK of
    /// the wrong shape → `ERR_PIN_FORMAT`.
    pub fn parse(
        command: &str,
        arguments: &Value,
        policy: &OriginPolicy,
    ) -> Result<Command, WireError> {
        let spec = find_spec(command).ok_or_else(|| unknown_command(command))?;
        let mut fields = Fields(validate(command, arguments, policy, Pins::Required)?);
        Ok((spec.build)(&mut fields)?)
    }

    /// The wire name of the command.
    pub fn name(&self) -> &'static str {
        match self {
            Command::Status => "status",
            Command::Certificates => "certificates",
            Command::Cards => "cards",
            Command::Authenticate(_) => "authenticate",
            Command::Sign(_) => "sign",
            Command::PinStatus(_) => "pin-status",
            Command::ChangePin(_) => "change-pin",
            Command::Unlock(_) => "unlock",
            Command::Watch => "watch",
            Command::SessionOpen(_) => "session-open",
            Command::SessionClose(_) => "session-close",
            Command::VerifyPin(_) => "verify-pin",
            Command::ManagementAuthenticate(_) => "management-authenticate",
            Command::GenerateKey(_) => "generate-key",
            Command::ProvePossession(_) => "prove-possession",
            Command::WriteCertificate(_) => "write-certificate",
            Command::PutData(_) => "put-data",
        }
    }

    /// The card session the command names, if any (`session-close` included).
    pub fn session(&self) -> Option<&SessionId> {
        match self {
            Command::Authenticate(AuthenticateArgs { card, .. })
            | Command::PinStatus(PinStatusArgs { card })
            | Command::ChangePin(ChangePinArgs { card, .. })
            | Command::Unlock(UnlockArgs { card, .. }) => match card {
                CardSelector::Session(id) => Some(id),
                _ => None,
            },
            Command::SessionClose(id)
            | Command::VerifyPin(VerifyPinArgs { session: id, .. })
            | Command::ManagementAuthenticate(ManagementAuthenticateArgs { session: id, .. })
            | Command::GenerateKey(GenerateKeyArgs { session: id, .. })
            | Command::ProvePossession(ProvePossessionArgs { session: id, .. })
            | Command::WriteCertificate(WriteCertificateArgs { session: id, .. })
            | Command::PutData(PutDataArgs { session: id, .. }) => Some(id),
            _ => None,
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
        // Where the PIN is typed is the extension's decision (from `cards`' `pinPad`), as the
        // PIN itself is: a page's `pinEntry` is dropped like its `pin`.
        if pins == Pins::Later && name == "pinEntry" {
            continue;
        }
        let text = match value {
            Parsed::Origin(o) => o.as_str().to_owned(),
            Parsed::Text(t) => t,
            Parsed::Secret(p) => p.as_str().to_owned(),
            Parsed::Hash(h) => h.as_str().to_owned(),
            Parsed::Proofs(_, json) => {
                out.insert(name.to_owned(), json);
                continue;
            }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_table_entry_is_named_after_its_command() {
        // Each spec's builder, given its own required arguments, makes a command of that name.
        let policy = OriginPolicy::default();
        for spec in SPECS {
            let mut args = Map::new();
            for arg in spec.args.iter().filter(|a| a.required) {
                let sample = match arg.kind {
                    Kind::Origin => "https://example.nhs.uk",
                    Kind::Nonce => "q83vEjRWeJASNFZ4kKvN7xI0VniQEjRWeJASNFZ4kKs=",
                    Kind::Pin | Kind::NewPin | Kind::Puk => "12345678",
                    Kind::Certificate | Kind::Data | Kind::Template => "MIIB",
                    Kind::Hash => "q83vEjRWeJASNFZ4kKvN7xI0VniQEjRWeJASNFZ4kKs=",
                    Kind::HashFunction => "SHA-256",
                    Kind::Reader => "Reader 0",
                    Kind::Session => "s-0123456789abcdef",
                    Kind::KeySlot => "9A",
                    Kind::KeyType => "P256",
                    Kind::ManagementAlgorithm => "3DES",
                    Kind::Challenge => "AAAAAAAAAAAAAAAAAAAAAA==",
                    Kind::DataObject => "CHUID",
                    Kind::Proofs | Kind::PinEntry => unreachable!("optional"),
                };
                args.insert(arg.name.into(), Value::String(sample.into()));
            }
            if spec.name == "prove-possession" {
                // One of its two forms is required: the single one here.
                args.insert("slot".into(), Value::String("9A".into()));
                args.insert(
                    "challenge".into(),
                    Value::String("AAAAAAAAAAAAAAAAAAAAAA==".into()),
                );
            }
            let command = Command::parse(spec.name, &Value::Object(args), &policy)
                .unwrap_or_else(|e| panic!("{}: {e:?}", spec.name));
            assert_eq!(command.name(), spec.name);
        }
    }
}
