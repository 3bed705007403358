//! The validation the extension runs before a request leaves the browser, as JSON in / JSON
//! out. `wasm` wraps these for JavaScript; they live here so native tests cover them.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use serde_json::Value;

use crate::certificate::CertificateSummary;
use crate::command::{command_takes_origin, normalise_arguments, Pins};
use crate::envelope::json::{self, JsonError, Wiped};
use crate::error::WireError;
use crate::origin::{Origin, OriginPolicy};
use crate::results::PROTOCOL_VERSION;
use crate::validation::ValidationError;

/// Validates a page's request and returns the arguments to send to the host, as JSON.
///
/// `origin` is the one the extension derived from the sender tab: it replaces any `origin` the
/// page put in the arguments. PIN arguments may be absent (the PIN window adds them later); a
/// present one must have the right shape. An empty `arguments_json` means `{}`.
pub fn validate_request_json(
    command: &str,
    arguments_json: &str,
    origin: &str,
    developer_mode: bool,
) -> Result<String, WireError> {
    let policy = OriginPolicy { developer_mode };
    let origin = Origin::parse(origin, &policy)?;
    // Read like the host reads a frame: duplicate keys refused, nothing left unwiped.
    let mut arguments = Wiped(if arguments_json.trim().is_empty() {
        Value::Object(serde_json::Map::new())
    } else {
        json::from_str(arguments_json).map_err(|e| match e {
            JsonError::DuplicateKey => {
                ValidationError::argument("arguments", "have a duplicate key")
            }
            _ => ValidationError::argument("arguments", "are not valid JSON"),
        })?
    });
    let Value::Object(object) = &mut arguments.0 else {
        return Err(ValidationError::argument("arguments", "must be a JSON object").into());
    };
    if command_takes_origin(command) {
        object.insert("origin".into(), Value::String(origin.as_str().to_owned()));
    } else {
        object.remove("origin");
    }
    let normalised = Wiped(Value::Object(normalise_arguments(
        command,
        &arguments.0,
        &policy,
        Pins::Later,
    )?));
    Ok(normalised.0.to_string())
}

/// Validates an origin and returns its normalised form.
pub fn validate_origin(origin: &str, developer_mode: bool) -> Result<String, WireError> {
    let policy = OriginPolicy { developer_mode };
    Ok(Origin::parse(origin, &policy)?.as_str().to_owned())
}

/// The `CertificateSummary` of a base64 DER certificate, as JSON.
pub fn certificate_summary_json(base64_der: &str) -> Result<String, WireError> {
    let der = STANDARD
        .decode(base64_der.trim())
        .map_err(|_| ValidationError::argument("certificate", "is not standard base64"))?;
    let summary = CertificateSummary::from_der(&der)?;
    serde_json::to_string(&summary)
        .map_err(|e| ValidationError::Certificate(format!("could not be summarised: {e}")).into())
}

pub fn protocol_version() -> u32 {
    PROTOCOL_VERSION
}
