//! `unlock`: RESET RETRY COUNTER with the PUK and a new PIN.

use crate::cards::{self, Need};
use crate::errors::HostError;
use carecard_card::ExclusiveCard;
use carecard_protocol::UnlockArgs;
use serde_json::{json, Value};

pub fn handle(args: UnlockArgs, session: Option<&mut ExclusiveCard>) -> Result<Value, HostError> {
    let UnlockArgs { puk, new_pin, card } = args;
    let mut target = cards::resolve(&card, session, Need::Piv)?.target;
    let outcome = target.operate(|piv| piv.reset_retry_counter(puk.as_bytes(), new_pin.as_bytes()));
    drop(puk);
    drop(new_pin);
    outcome?;
    Ok(json!({}))
}
