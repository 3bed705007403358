//! `change-pin`: CHANGE REFERENCE DATA with the old and new PIN (no separate VERIFY: the
//! command itself checks the old PIN and counts a wrong one).

use crate::cards::{self, Need};
use crate::errors::HostError;
use carecard_card::ExclusiveCard;
use carecard_protocol::ChangePinArgs;
use serde_json::{json, Value};

pub fn handle(
    args: ChangePinArgs,
    session: Option<&mut ExclusiveCard>,
) -> Result<Value, HostError> {
    let ChangePinArgs { pin, new_pin, card } = args;
    let mut target = cards::resolve(&card, session, Need::Piv)?.target;
    let outcome = target.operate(|piv| piv.change_pin(pin.as_bytes(), new_pin.as_bytes()));
    drop(pin);
    drop(new_pin);
    outcome?;
    Ok(json!({}))
}
