//! The real card: PC/SC through the `pcsc` crate (winscard, PCSC.framework, pcsc-lite).
//!
//! One [`PcscCard::transaction`] is one card operation: a PC/SC transaction, SELECT PIV, the
//! caller's commands, and clearing the PIN's verified state before the card is handed back to
//! other applications sharing it.

use crate::error::CardError;
use crate::pcsc_common::reader_info;
pub use crate::pcsc_common::{map_error, ReaderInfo};
use crate::piv::Piv;
use crate::transport::{Control, Transport};
use crate::watch::ReaderWatcher;
use pcsc::{Card, Context, Disposition, Protocols, ReaderState, Scope, ShareMode, State};
use std::ffi::CString;
use std::fmt;
use std::time::{Duration, Instant};

/// How long a missing status word is given to turn out to be a removed card.
const REMOVAL_GRACE: Duration = Duration::from_secs(1);

/// A connection to the PC/SC service.
pub struct Pcsc {
    context: Context,
}

impl fmt::Debug for Pcsc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pcsc").finish_non_exhaustive()
    }
}

impl Pcsc {
    /// Connects to the PC/SC service; `PcscUnavailable` when it is not running.
    pub fn establish() -> Result<Pcsc, CardError> {
        let context = Context::establish(Scope::User).map_err(map_error)?;
        Ok(Pcsc { context })
    }

    /// The readers and their cards' ATRs, without connecting to any card.
    pub fn readers(&self) -> Result<Vec<ReaderInfo>, CardError> {
        let names = match self.context.list_readers_owned() {
            Ok(names) => names,
            Err(pcsc::Error::NoReadersAvailable) => return Ok(Vec::new()),
            Err(e) => return Err(map_error(e)),
        };
        let mut states: Vec<ReaderState> = names
            .into_iter()
            .filter(|n| n.as_c_str() != pcsc::PNP_NOTIFICATION())
            .map(|n| ReaderState::new(n, State::UNAWARE))
            .collect();
        if states.is_empty() {
            return Ok(Vec::new());
        }
        // UNAWARE as the known state makes this return at once with the current states.
        match self.context.get_status_change(Duration::ZERO, &mut states) {
            Ok(()) | Err(pcsc::Error::Timeout) => {}
            Err(e) => return Err(map_error(e)),
        }
        Ok(states.iter().map(reader_info).collect())
    }

    /// A watcher for reader and card changes (see [`ReaderWatcher`]).
    pub fn watcher(&self) -> ReaderWatcher {
        ReaderWatcher::new(self.context.clone())
    }

    /// Opens the card in `reader` (shared, T=0 or T=1).
    pub fn connect(&self, reader: &str) -> Result<PcscCard, CardError> {
        let name = CString::new(reader).map_err(|_| CardError::NoReader)?;
        let card = self
            .context
            .connect(&name, ShareMode::Shared, Protocols::ANY)
            .map_err(map_error)?;
        Ok(PcscCard {
            card: Some(card),
            reader: reader.to_owned(),
        })
    }

    /// Opens the card in `reader` for this process alone (a card session for multi-step card
    /// management): no other application can use or reset it until the [`ExclusiveCard`] is
    /// dropped, which resets the card. `CardBusy` when another application holds it.
    pub fn connect_exclusive(&self, reader: &str) -> Result<ExclusiveCard, CardError> {
        let name = CString::new(reader).map_err(|_| CardError::NoReader)?;
        let card = self
            .context
            .connect(&name, ShareMode::Exclusive, Protocols::ANY)
            .map_err(map_error)?;
        let mut exclusive = ExclusiveCard {
            card: Some(card),
            reader: reader.to_owned(),
            pin_confirmed: false,
        };
        exclusive.operate(|piv| piv.select())?;
        Ok(exclusive)
    }
}

/// A card held exclusively across several requests (INTERFACES.md "Card sessions"). Its
/// security state — a verified PIN, an authenticated management key — lasts from operation to
/// operation, and ends when this is dropped: the card is disconnected with a reset.
pub struct ExclusiveCard {
    /// Always `Some` until drop.
    card: Option<Card>,
    reader: String,
    /// The holder's PIN was checked right through this handle, and no wrong PIN since.
    pin_confirmed: bool,
}

impl fmt::Debug for ExclusiveCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExclusiveCard")
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

impl ExclusiveCard {
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// Runs one operation. No transaction and no SELECT: nobody else can reach the card, and
    /// selecting again would end the security state the session exists to keep.
    pub fn operate<T, F>(&mut self, operation: F) -> Result<T, CardError>
    where
        F: FnOnce(&mut Piv<'_>) -> Result<T, CardError>,
    {
        let card = self
            .card
            .as_ref()
            .ok_or_else(|| CardError::Pcsc("card handle already closed".into()))?;
        let mut transport = PcscTransport { card };
        let mut piv = Piv::new(&mut transport);
        let result = operation(&mut piv);
        if let Some(right) = piv.pin_checked() {
            self.pin_confirmed = right;
        }
        result
    }

    /// Whether the holder's PIN was checked right (VERIFY or CHANGE REFERENCE DATA) on this
    /// handle — i.e. in this card session — with no wrong PIN since: the holder's consent that
    /// the card-management steps needing it (new keys) may run.
    pub fn pin_confirmed(&self) -> bool {
        self.pin_confirmed
    }

    /// Whether the card is still in the reader and this handle still valid.
    pub fn is_present(&self) -> bool {
        self.card.as_ref().is_some_and(|card| {
            card.status2_owned()
                .is_ok_and(|s| s.status().contains(pcsc::Status::PRESENT))
        })
    }
}

impl Drop for ExclusiveCard {
    fn drop(&mut self) {
        // The reset clears the verified PIN and the management-key authentication, so nothing
        // of the session outlives it.
        if let Some(card) = self.card.take() {
            if let Err((_, e)) = card.disconnect(Disposition::ResetCard) {
                log::debug!("disconnecting from {}: {e}", self.reader);
            }
        }
    }
}

/// A connected card.
pub struct PcscCard {
    /// Always `Some` until drop, which disconnects with our own disposition.
    card: Option<Card>,
    reader: String,
}

impl fmt::Debug for PcscCard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcscCard")
            .field("reader", &self.reader)
            .finish_non_exhaustive()
    }
}

impl PcscCard {
    pub fn reader(&self) -> &str {
        &self.reader
    }

    /// Runs one card operation in one PC/SC transaction, PIV selected first. When another
    /// application reset the card (the command was not delivered), reconnects and runs the
    /// operation once more from the start.
    pub fn transaction<T, F>(&mut self, mut operation: F) -> Result<T, CardError>
    where
        F: FnMut(&mut Piv<'_>) -> Result<T, CardError>,
    {
        match self.run(&mut operation) {
            Err(CardError::CardReset) => {
                log::info!("card in {} was reset; reconnecting", self.reader);
                self.card_mut()?
                    .reconnect(ShareMode::Shared, Protocols::ANY, Disposition::LeaveCard)
                    .map_err(map_error)?;
                self.run(&mut operation)
            }
            other => other,
        }
    }

    fn card_mut(&mut self) -> Result<&mut Card, CardError> {
        self.card
            .as_mut()
            .ok_or_else(|| CardError::Pcsc("card handle already closed".into()))
    }

    fn run<T>(
        &mut self,
        operation: &mut dyn FnMut(&mut Piv<'_>) -> Result<T, CardError>,
    ) -> Result<T, CardError> {
        let transaction = self.card_mut()?.transaction().map_err(map_error)?;
        let mut transport = PcscTransport { card: &transaction };
        let (result, disposition) = {
            let mut piv = Piv::new(&mut transport);
            let result = piv.select().and_then(|()| operation(&mut piv));
            let disposition = release_pin(&mut piv);
            (result, disposition)
        };
        if let Err((_, e)) = transaction.end(disposition) {
            log::debug!("ending the PC/SC transaction: {e}");
        }
        result
    }
}

/// Clears a PIN verified in this session; if the card cannot, resets it when the
/// transaction ends, so no other application inherits a verified PIN.
fn release_pin(piv: &mut Piv<'_>) -> Disposition {
    if !piv.pin_was_verified() {
        return Disposition::LeaveCard;
    }
    match piv.reset_pin_status() {
        Ok(()) => Disposition::LeaveCard,
        Err(CardError::CardRemoved | CardError::NoCard) => Disposition::LeaveCard,
        Err(e) => {
            log::debug!("clearing the PIN state failed ({e}); resetting the card");
            Disposition::ResetCard
        }
    }
}

impl Drop for PcscCard {
    fn drop(&mut self) {
        // pcsc's own drop resets the card; the PIN state is already cleared, so leave it be
        // and spare other applications a reset.
        if let Some(card) = self.card.take() {
            if let Err((_, e)) = card.disconnect(Disposition::LeaveCard) {
                log::debug!("disconnecting from {}: {e}", self.reader);
            }
        }
    }
}

/// [`Transport`] over the card of an open transaction.
struct PcscTransport<'a> {
    card: &'a Card,
}

impl Control for PcscTransport<'_> {
    fn control(&mut self, code: u32, input: &[u8]) -> Result<Vec<u8>, CardError> {
        let mut buffer = [0u8; pcsc::MAX_BUFFER_SIZE];
        let output = self
            .card
            .control(code.into(), input, &mut buffer)
            .map_err(map_error)?
            .to_vec();
        zeroize::Zeroize::zeroize(&mut buffer);
        Ok(output)
    }
}

impl Transport for PcscTransport<'_> {
    fn reader_control(&mut self) -> Option<&mut dyn Control> {
        Some(self)
    }

    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
        let mut buffer = [0u8; pcsc::MAX_BUFFER_SIZE];
        let response = self
            .card
            .transmit(command, &mut buffer)
            .map_err(map_error)?
            .to_vec();
        // The buffer may hold a PIN echoed back by a broken card: wipe it.
        zeroize::Zeroize::zeroize(&mut buffer);
        if response.len() < 2 {
            return Err(self.why_no_status_word());
        }
        Ok(response)
    }
}

impl PcscTransport<'_> {
    /// A reader gives an answer without a status word when the card went away mid-command
    /// (vpcd does; some readers too). The service may notice the removal only on its next
    /// poll of the reader, so watch briefly before calling the card mute.
    fn why_no_status_word(&self) -> CardError {
        let deadline = Instant::now() + REMOVAL_GRACE;
        loop {
            match self.card.status2_owned() {
                Err(e) => return map_error(e),
                Ok(status) if !status.status().contains(pcsc::Status::PRESENT) => {
                    return CardError::CardRemoved
                }
                Ok(_) if Instant::now() >= deadline => {
                    return CardError::malformed("no status word")
                }
                Ok(_) => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_pcsc_errors() {
        assert_eq!(
            map_error(pcsc::Error::NoService),
            CardError::PcscUnavailable
        );
        assert_eq!(
            map_error(pcsc::Error::ServiceStopped),
            CardError::PcscUnavailable
        );
        assert_eq!(
            map_error(pcsc::Error::NoReadersAvailable),
            CardError::NoReader
        );
        assert_eq!(map_error(pcsc::Error::RemovedCard), CardError::CardRemoved);
        assert_eq!(map_error(pcsc::Error::NoSmartcard), CardError::NoCard);
        assert_eq!(
            map_error(pcsc::Error::SharingViolation),
            CardError::CardBusy
        );
        assert_eq!(map_error(pcsc::Error::ResetCard), CardError::CardReset);
        assert!(matches!(
            map_error(pcsc::Error::CommError),
            CardError::Pcsc(_)
        ));
    }
}
