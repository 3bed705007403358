//! The virtual card as a `carecard_card` transport, so the host's PIV code can be tested
//! against it without PC/SC.

use carecard_card::transport::Transport;
use carecard_card::CardError;

use crate::card::VirtualCard;

impl Transport for VirtualCard {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
        Ok(self.process(command))
    }
}
