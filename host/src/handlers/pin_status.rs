//! `pin-status`: the PIN's retry counter, read without sending a PIN.

use crate::cards::{self, Need};
use crate::errors::HostError;
use crate::handlers::to_value;
use carecard_card::{CardError, ExclusiveCard, PinStatus, Piv};
use carecard_protocol::{PinStatusArgs, PinStatusResult};
use serde_json::Value;

pub fn handle(
    args: PinStatusArgs,
    session: Option<&mut ExclusiveCard>,
) -> Result<Value, HostError> {
    let mut target = cards::resolve(&args.card, session, Need::Piv)?.target;
    let status = target.operate(unverified_pin_status)?;
    let pin_retries_left = match status {
        PinStatus::RetriesLeft(n) => n,
        PinStatus::Blocked => 0,
        PinStatus::Verified => {
            return Err(HostError::wire(
                carecard_protocol::ErrorCode::CardError,
                "The card did not report its PIN retry counter.",
            ))
        }
    };
    to_value(&PinStatusResult { pin_retries_left })
}

/// The PIN state; a PIN still verified from another application's session is cleared first,
/// so the counter can be read.
pub fn unverified_pin_status(piv: &mut Piv<'_>) -> Result<PinStatus, CardError> {
    match piv.pin_status()? {
        PinStatus::Verified => {
            piv.reset_pin_status()?;
            piv.pin_status()
        }
        other => Ok(other),
    }
}
