//! `pin-status`: the PIN's retry counter, read without sending a PIN.

use crate::cards;
use crate::errors::HostError;
use crate::handlers::{pcsc, to_value};
use carecard_card::PinStatus;
use carecard_protocol::{PinStatusArgs, PinStatusResult};
use serde_json::Value;

pub fn handle(args: PinStatusArgs) -> Result<Value, HostError> {
    let pcsc = pcsc()?;
    let mut card = cards::choose_for_pin(&pcsc, args.certificate.as_deref())?;
    let status = card.transaction(|piv| match piv.pin_status()? {
        // Still verified from another application's session: clear it, then ask again.
        PinStatus::Verified => {
            piv.reset_pin_status()?;
            piv.pin_status()
        }
        other => Ok(other),
    })?;
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
