//! `change-pin`: CHANGE REFERENCE DATA with the old and new PIN (no separate VERIFY: the
//! command itself checks the old PIN and counts a wrong one).

use crate::cards;
use crate::errors::HostError;
use crate::handlers::pcsc;
use carecard_protocol::ChangePinArgs;
use serde_json::{json, Value};

pub fn handle(args: ChangePinArgs) -> Result<Value, HostError> {
    let pcsc = pcsc()?;
    let mut card = cards::choose_for_pin(&pcsc, None)?;
    let ChangePinArgs { pin, new_pin } = args;
    let outcome = card.transaction(|piv| piv.change_pin(pin.as_bytes(), new_pin.as_bytes()));
    drop(pin);
    drop(new_pin);
    outcome?;
    Ok(json!({}))
}
