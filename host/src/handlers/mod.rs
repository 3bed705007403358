//! One handler per command. Each returns the `result` object or a [`HostError`].

pub mod authenticate;
pub mod cards;
pub mod certificates;
pub mod change_pin;
pub mod management;
pub mod pin_status;
pub mod session;
pub mod sign;
pub mod status;
pub mod unlock;
pub mod watch;

use crate::errors::HostError;
use carecard_card::Pcsc;
use serde::Serialize;
use serde_json::Value;

/// A fresh PC/SC context per request: after pcscd restarts an old context is dead, and
/// establishing one costs well under a millisecond.
pub fn pcsc() -> Result<Pcsc, HostError> {
    Ok(Pcsc::establish()?)
}

pub fn to_value(result: &impl Serialize) -> Result<Value, HostError> {
    serde_json::to_value(result).map_err(|e| {
        HostError::wire(
            carecard_protocol::ErrorCode::Internal,
            format!("cannot encode the result: {e}"),
        )
    })
}
