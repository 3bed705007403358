//! `unlock`: RESET RETRY COUNTER with the PUK and a new PIN.

use crate::cards;
use crate::errors::HostError;
use crate::handlers::pcsc;
use carecard_protocol::UnlockArgs;
use serde_json::{json, Value};

pub fn handle(args: UnlockArgs) -> Result<Value, HostError> {
    let pcsc = pcsc()?;
    let mut card = cards::choose_for_pin(&pcsc, None)?;
    let UnlockArgs { puk, new_pin } = args;
    let outcome =
        card.transaction(|piv| piv.reset_retry_counter(puk.as_bytes(), new_pin.as_bytes()));
    drop(puk);
    drop(new_pin);
    outcome?;
    Ok(json!({}))
}
