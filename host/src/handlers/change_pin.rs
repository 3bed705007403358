//! `change-pin`: CHANGE REFERENCE DATA with the old and new PIN (no separate VERIFY: the
//! command itself checks the old PIN and counts a wrong one), typed in the extension's window
//! or on the reader's PIN pad (`"pinEntry": "reader"`).

use crate::cards::{self, Need};
use crate::errors::HostError;
use carecard_card::ExclusiveCard;
use carecard_protocol::{ChangePinArgs, ErrorCode, PinSource};
use serde_json::{json, Value};

pub fn handle(
    args: ChangePinArgs,
    session: Option<&mut ExclusiveCard>,
) -> Result<Value, HostError> {
    let ChangePinArgs { pin, new_pin, card } = args;
    let mut target = cards::resolve(&card, session, Need::Piv)?.target;
    let outcome = match (&pin, &new_pin) {
        (PinSource::Typed(old), Some(new)) => {
            target.operate(|piv| piv.change_pin(old.as_bytes(), new.as_bytes()))
        }
        (PinSource::Reader, None) => target.operate(|piv| piv.change_pin_on_reader()),
        _ => {
            return Err(HostError::wire(
                ErrorCode::InvalidRequest,
                "change-pin takes pin and newPin, or pinEntry reader alone.",
            ))
        }
    };
    drop(pin);
    drop(new_pin);
    outcome?;
    Ok(json!({}))
}
