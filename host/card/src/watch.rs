//! Watching readers and cards for the host's `watch` command: blocks in
//! SCardGetStatusChange and hands back a fresh snapshot after every change.
//!
//! The watcher keeps the last state it reported for every reader as the "current state" it
//! passes to PC/SC, so no change between two calls is lost (a diff of two `readers()` calls
//! taken at different moments could miss a quick remove-and-insert).

use crate::error::CardError;
use crate::pcsc_common::{map_error as map_card_error, reader_info, ReaderInfo};
use pcsc::{Context, ReaderState, State};
use std::fmt;
use std::time::Duration;

/// Follows reader and card changes; one per watching thread.
pub struct ReaderWatcher {
    context: Context,
    states: Vec<ReaderState>,
}

impl fmt::Debug for ReaderWatcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ReaderWatcher")
            .field("readers", &self.states.len())
            .finish_non_exhaustive()
    }
}

impl ReaderWatcher {
    pub(crate) fn new(context: Context) -> Self {
        ReaderWatcher {
            context,
            // The PnP pseudo-reader reports readers coming and going (pcsc-lite, Windows, macOS).
            states: vec![ReaderState::new(
                pcsc::PNP_NOTIFICATION().to_owned(),
                State::UNAWARE,
            )],
        }
    }

    /// Waits up to `timeout` for a reader or card change. `Some(readers)` after a change (the
    /// first call returns the current readers at once), `None` when nothing changed.
    pub fn wait(&mut self, timeout: Duration) -> Result<Option<Vec<ReaderInfo>>, CardError> {
        self.track_readers()?;
        if self.states.is_empty() {
            // No readers and no PnP notifications on this platform: poll.
            std::thread::sleep(timeout);
            self.track_readers()?;
            return Ok((!self.states.is_empty()).then(|| self.snapshot()));
        }
        match self.context.get_status_change(timeout, &mut self.states) {
            Ok(()) => {}
            Err(pcsc::Error::Timeout) => return Ok(None),
            Err(e) => return Err(map_error(e)),
        }
        if self.readers_changed() {
            // Learn the new readers' states now rather than on the next call.
            self.track_readers()?;
            match self
                .context
                .get_status_change(Duration::ZERO, &mut self.states)
            {
                Ok(()) | Err(pcsc::Error::Timeout) => {}
                Err(e) => return Err(map_error(e)),
            }
        }
        Ok(Some(self.snapshot()))
    }

    fn readers_changed(&self) -> bool {
        self.states
            .iter()
            .any(|s| is_gone(s) || (is_pnp(s) && s.event_state().contains(State::CHANGED)))
    }

    /// Drops readers that went away, adds new ones as unknown, and marks everything seen.
    fn track_readers(&mut self) -> Result<(), CardError> {
        let names = match self.context.list_readers_owned() {
            Ok(names) => names,
            Err(pcsc::Error::NoReadersAvailable) => Vec::new(),
            Err(e) => return Err(map_error(e)),
        };
        // A PnP pseudo-reader the platform does not know reads as gone and is dropped too.
        self.states.retain(|s| {
            !is_gone(s) && (is_pnp(s) || names.iter().any(|n| n.as_c_str() == s.name()))
        });
        for name in names {
            let known = self.states.iter().any(|s| s.name() == name.as_c_str());
            if !known && name.as_c_str() != pcsc::PNP_NOTIFICATION() {
                self.states.push(ReaderState::new(name, State::UNAWARE));
            }
        }
        self.states
            .iter_mut()
            .for_each(ReaderState::sync_current_state);
        Ok(())
    }

    fn snapshot(&self) -> Vec<ReaderInfo> {
        self.states
            .iter()
            .filter(|s| !is_pnp(s) && !is_gone(s))
            .map(reader_info)
            .collect()
    }
}

fn is_pnp(state: &ReaderState) -> bool {
    state.name() == pcsc::PNP_NOTIFICATION()
}

fn is_gone(state: &ReaderState) -> bool {
    state
        .event_state()
        .intersects(State::UNKNOWN | State::IGNORE)
}

/// In a status wait a lost connection to the service (pcsc-lite: communication error, then an
/// invalid context) means the service stopped: the host reports `pcsc-unavailable`.
fn map_error(e: pcsc::Error) -> CardError {
    match e {
        pcsc::Error::CommError | pcsc::Error::InvalidHandle => CardError::PcscUnavailable,
        other => map_card_error(other),
    }
}
