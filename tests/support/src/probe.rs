//! PC/SC probes run by the `carecard-stack` binary inside a stack's environment: list the
//! readers, wait for a card to appear or go. (Never called in a test process; see lib docs.)

use std::ffi::CString;
use std::thread;
use std::time::{Duration, Instant};

use pcsc::{Context, ReaderState, Scope, State};
use serde_json::{json, Value};

/// One reader as pcscd reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderSnapshot {
    pub name: String,
    /// The ATR when a responsive card is in the reader.
    pub atr: Option<Vec<u8>>,
}

impl ReaderSnapshot {
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "atr": self.atr.as_ref().map(|a| a.iter().map(|b| format!("{b:02X}")).collect::<String>()),
        })
    }
}

/// A card counts as present once pcscd has powered it and holds its ATR (not merely seen).
fn card_atr(state: &ReaderState) -> Option<Vec<u8>> {
    let flags = state.event_state();
    let usable =
        flags.contains(State::PRESENT) && !flags.contains(State::MUTE) && !state.atr().is_empty();
    usable.then(|| state.atr().to_vec())
}

/// All readers of the pcscd named by `PCSCLITE_CSOCK_NAME`, with card ATRs.
pub fn snapshot(ctx: &Context) -> Result<Vec<ReaderSnapshot>, pcsc::Error> {
    let names = match ctx.list_readers_owned() {
        Ok(names) => names,
        Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
        Err(e) => return Err(e),
    };
    let mut states: Vec<ReaderState> = names
        .into_iter()
        .map(|n| ReaderState::new(n, State::UNAWARE))
        .collect();
    if !states.is_empty() {
        ctx.get_status_change(Duration::ZERO, &mut states)?;
    }
    Ok(states
        .iter()
        .map(|s| ReaderSnapshot {
            name: s.name().to_string_lossy().into_owned(),
            atr: card_atr(s),
        })
        .collect())
}

/// Connects to pcscd, retrying until `deadline` (it may still be starting).
pub fn establish(deadline: Instant) -> Result<Context, pcsc::Error> {
    loop {
        match Context::establish(Scope::User) {
            Ok(ctx) => return Ok(ctx),
            Err(e) if Instant::now() >= deadline => return Err(e),
            Err(_) => thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// Waits until `reader` holds a powered card (`present`) or no card (`!present`).
/// Returns the final snapshot of that reader, or `None` on timeout.
pub fn wait_for_card(
    reader: &str,
    present: bool,
    timeout: Duration,
) -> Result<Option<ReaderSnapshot>, pcsc::Error> {
    let deadline = Instant::now() + timeout;
    let ctx = establish(deadline)?;
    let wanted = CString::new(reader).map_err(|_| pcsc::Error::InvalidParameter)?;
    loop {
        let found = snapshot(&ctx)?
            .into_iter()
            .find(|r| r.name.as_bytes() == wanted.as_bytes());
        if let Some(r) = found {
            if r.atr.is_some() == present {
                return Ok(Some(r));
            }
        }
        if Instant::now() >= deadline {
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(20));
    }
}
