//! Moving APDUs: the [`Transport`] trait (one raw APDU in, one raw response out) and
//! [`exchange`], which turns one logical command into the short APDUs a card understands:
//! command chaining for data over 255 bytes, GET RESPONSE for `61xx`, a resend for `6Cxx`.

use crate::apdu::{Command, Response, CLA_CHAINING, MAX_SHORT_DATA, MAX_SHORT_LE};
use crate::error::CardError;

/// Ceiling for one logical response assembled from `61xx` pieces.
pub const MAX_RESPONSE: usize = 64 * 1024;

/// One raw APDU to the card, its raw answer (data ‖ SW1 SW2) back. A failure to move it is a
/// [`CardError`] (`CardRemoved`, `CardReset`, `NoCard`, `Pcsc`, …): there is no separate
/// transport error type to translate.
pub trait Transport {
    fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError>;

    /// The reader's control channel (PC/SC `SCardControl`), when this transport has one: how
    /// a PIN-pad reader is asked for its features and to take a PIN (PC/SC part 10,
    /// [`crate::pinpad`]). `None` (the default): no reader features, the PIN comes from the host.
    fn reader_control(&mut self) -> Option<&mut dyn Control> {
        None
    }
}

/// Control of the reader itself rather than the card: one control code and its input bytes in,
/// the reader's output bytes out (PC/SC `SCardControl`). A reader that does not know the code
/// answers with an error.
pub trait Control {
    fn control(&mut self, code: u32, input: &[u8]) -> Result<Vec<u8>, CardError>;
}

/// Sends `command` (chaining when needed) and returns the complete response, at most
/// [`MAX_RESPONSE`] bytes of data. A failing status word is returned, not turned into an error.
pub fn exchange(transport: &mut dyn Transport, command: &Command) -> Result<Response, CardError> {
    exchange_with_limit(transport, command, MAX_RESPONSE)
}

/// As [`exchange`], refusing responses whose data would exceed `limit` bytes.
pub fn exchange_with_limit(
    transport: &mut dyn Transport,
    command: &Command,
    limit: usize,
) -> Result<Response, CardError> {
    let last = send_chain(transport, command)?;
    let response = match last.response.sw.correct_le() {
        // Resend once with the Le the card asked for; a second 6Cxx is returned as is.
        Some(le) => {
            let mut retry = last.command;
            retry.le = Some(short_le(le));
            transmit(transport, &retry)?
        }
        None => last.response,
    };
    collect_remaining(transport, response, limit)
}

/// The final APDU of a chain and the card's answer to it.
struct LastExchange {
    command: Command,
    response: Response,
}

/// Splits the data into chained short APDUs; stops early when the card refuses a link.
fn send_chain(transport: &mut dyn Transport, command: &Command) -> Result<LastExchange, CardError> {
    let mut chunks = command.data.chunks(MAX_SHORT_DATA).peekable();
    if chunks.peek().is_none() {
        let response = transmit(transport, command)?;
        return Ok(LastExchange {
            command: command.clone(),
            response,
        });
    }
    loop {
        let Some(chunk) = chunks.next() else {
            // Unreachable: the loop returns on the last chunk.
            return Err(CardError::invalid_input("empty command chain"));
        };
        let is_last = chunks.peek().is_none();
        let mut link = Command::new(command.cla, command.ins, command.p1, command.p2)
            .with_data(chunk.to_vec());
        if is_last {
            link.le = command.le;
        } else {
            link.cla |= CLA_CHAINING;
        }
        let response = transmit(transport, &link)?;
        if is_last || !response.is_success() {
            return Ok(LastExchange {
                command: link,
                response,
            });
        }
    }
}

/// Follows `61xx` with GET RESPONSE until the card is done, joining the pieces.
fn collect_remaining(
    transport: &mut dyn Transport,
    first: Response,
    limit: usize,
) -> Result<Response, CardError> {
    let mut response = first;
    check_limit(response.data.len(), limit)?;
    // Each round must bring data or the card could keep us here forever with 6100.
    while let Some(remaining) = response.sw.bytes_remaining() {
        let get_response = Command::new(0x00, 0xC0, 0x00, 0x00).with_le(short_le(remaining));
        let next = transmit(transport, &get_response)?;
        if next.data.is_empty() && next.sw.bytes_remaining().is_some() {
            return Err(CardError::malformed("GET RESPONSE returned no data"));
        }
        check_limit(response.data.len() + next.data.len(), limit)?;
        response.data.extend_from_slice(&next.data);
        response.sw = next.sw;
    }
    Ok(response)
}

fn check_limit(len: usize, limit: usize) -> Result<(), CardError> {
    if len > limit {
        Err(CardError::malformed(format!(
            "response longer than {limit} bytes"
        )))
    } else {
        Ok(())
    }
}

/// SW2 of `61xx`/`6Cxx` as an Le: 00 stands for 256.
fn short_le(sw2: u8) -> u16 {
    if sw2 == 0 {
        MAX_SHORT_LE
    } else {
        u16::from(sw2)
    }
}

fn transmit(transport: &mut dyn Transport, command: &Command) -> Result<Response, CardError> {
    let bytes = command.encode()?;
    let raw = transport.transmit(&bytes)?;
    // A short APDU's answer is at most 256 data bytes; more is a broken card or reader.
    if raw.len() > usize::from(MAX_SHORT_LE) + 2 {
        return Err(CardError::malformed("APDU response longer than 258 bytes"));
    }
    Response::parse(&raw)
}

#[cfg(test)]
pub(crate) mod fake {
    //! A scripted card: each step is the exact command expected and the canned answer.
    use super::Transport;
    use crate::error::CardError;
    use std::collections::VecDeque;

    /// The command expected next and what the card answers to it.
    type Step = (Vec<u8>, Result<Vec<u8>, CardError>);
    /// A reader control expected next: its code, its input, the reader's answer.
    type ControlStep = (u32, Vec<u8>, Result<Vec<u8>, CardError>);

    #[derive(Debug, Default)]
    pub(crate) struct ScriptedCard {
        steps: VecDeque<Step>,
        pub(crate) sent: Vec<Vec<u8>>,
        /// `None`: the transport has no control channel (as vpcd's reader offers no PIN pad).
        controls: Option<VecDeque<ControlStep>>,
        pub(crate) controlled: Vec<(u32, Vec<u8>)>,
    }

    impl ScriptedCard {
        pub(crate) fn new() -> Self {
            Self::default()
        }

        pub(crate) fn expect(mut self, command: &[u8], response: &[u8]) -> Self {
            self.steps
                .push_back((command.to_vec(), Ok(response.to_vec())));
            self
        }

        pub(crate) fn expect_error(mut self, command: &[u8], error: CardError) -> Self {
            self.steps.push_back((command.to_vec(), Err(error)));
            self
        }

        /// Expects a reader control (`SCardControl`) next among the controls; gives the
        /// transport a control channel.
        pub(crate) fn expect_control(
            mut self,
            code: u32,
            input: &[u8],
            output: Result<Vec<u8>, CardError>,
        ) -> Self {
            self.controls.get_or_insert_with(VecDeque::new).push_back((
                code,
                input.to_vec(),
                output,
            ));
            self
        }

        /// Panics (fails the test) when a scripted step was never sent.
        pub(crate) fn finish(&self) {
            assert!(
                self.steps.is_empty(),
                "{} scripted commands were not sent; next: {:02X?}",
                self.steps.len(),
                self.steps.front().map(|s| &s.0)
            );
            let left = self.controls.as_ref().map_or(0, VecDeque::len);
            assert_eq!(left, 0, "{left} scripted reader controls were not sent");
        }
    }

    impl super::Control for ScriptedCard {
        fn control(&mut self, code: u32, input: &[u8]) -> Result<Vec<u8>, CardError> {
            self.controlled.push((code, input.to_vec()));
            let Some((expected_code, expected, output)) =
                self.controls.as_mut().and_then(VecDeque::pop_front)
            else {
                panic!("unexpected reader control {code:08X} {input:02X?}");
            };
            assert_eq!(code, expected_code, "control code");
            assert_eq!(input, &expected[..], "control input");
            output
        }
    }

    impl Transport for ScriptedCard {
        fn transmit(&mut self, command: &[u8]) -> Result<Vec<u8>, CardError> {
            self.sent.push(command.to_vec());
            let Some((expected, response)) = self.steps.pop_front() else {
                panic!("unexpected command {command:02X?}");
            };
            assert_eq!(command, &expected[..], "command {}", self.sent.len());
            response
        }

        fn reader_control(&mut self) -> Option<&mut dyn super::Control> {
            if self.controls.is_some() {
                Some(self)
            } else {
                None
            }
        }
    }

    /// Hex with optional spaces → bytes (test scripts read better as hex).
    pub(crate) fn h(s: &str) -> Vec<u8> {
        let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("test hex"))
            .collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a panic is the failure report
mod tests {
    use super::fake::{h, ScriptedCard};
    use super::*;
    use crate::apdu::StatusWord;

    #[test]
    fn chains_300_bytes() {
        let data: Vec<u8> = (0..300).map(|i| i as u8).collect();
        let mut first = h("10 87 07 9A FF");
        first.extend_from_slice(&data[..255]);
        let mut second = h("00 87 07 9A 2D");
        second.extend_from_slice(&data[255..]);
        second.push(0x00);
        let mut card = ScriptedCard::new()
            .expect(&first, &h("9000"))
            .expect(&second, &h("AABB 9000"));
        let cmd = Command::new(0, 0x87, 7, 0x9A).with_data(data).with_le(256);
        let r = exchange(&mut card, &cmd).unwrap();
        assert_eq!(r.data, h("AABB"));
        assert!(r.is_success());
        card.finish();
    }

    #[test]
    fn stops_a_chain_the_card_refuses() {
        let data = vec![0u8; 300];
        let mut first = h("10 DB 3F FF FF");
        first.extend_from_slice(&data[..255]);
        let mut card = ScriptedCard::new().expect(&first, &h("6982"));
        let cmd = Command::new(0, 0xDB, 0x3F, 0xFF).with_data(data);
        let r = exchange(&mut card, &cmd).unwrap();
        assert_eq!(r.sw, StatusWord(0x6982));
        card.finish();
    }

    #[test]
    fn joins_61xx_pieces() {
        let mut card = ScriptedCard::new()
            .expect(&h("00 CB 3F FF 03 5C 01 7E 00"), &h("0102 6100"))
            .expect(&h("00 C0 00 00 00"), &[vec![7u8; 256], h("6103")].concat())
            .expect(&h("00 C0 00 00 03"), &h("AABBCC 9000"));
        let cmd = Command::new(0, 0xCB, 0x3F, 0xFF)
            .with_data(h("5C017E"))
            .with_le(256);
        let r = exchange(&mut card, &cmd).unwrap();
        assert_eq!(r.data.len(), 2 + 256 + 3);
        assert_eq!(&r.data[..2], &[1, 2]);
        assert_eq!(&r.data[258..], &h("AABBCC")[..]);
        assert!(r.is_success());
        card.finish();
    }

    #[test]
    fn resends_on_6cxx() {
        let mut card = ScriptedCard::new()
            .expect(&h("00 CA 00 00 00"), &h("6C05"))
            .expect(&h("00 CA 00 00 05"), &h("0102030405 9000"));
        let cmd = Command::new(0, 0xCA, 0, 0).with_le(256);
        let r = exchange(&mut card, &cmd).unwrap();
        assert_eq!(r.data, h("0102030405"));
        card.finish();
    }

    #[test]
    fn a_second_6cxx_is_returned_not_looped() {
        let mut card = ScriptedCard::new()
            .expect(&h("00 CA 00 00 00"), &h("6C05"))
            .expect(&h("00 CA 00 00 05"), &h("6C06"));
        let cmd = Command::new(0, 0xCA, 0, 0).with_le(256);
        let r = exchange(&mut card, &cmd).unwrap();
        assert_eq!(r.sw, StatusWord(0x6C06));
        card.finish();
    }

    #[test]
    fn caps_the_joined_response() {
        let piece = [vec![0u8; 256], h("6100")].concat();
        let mut card = ScriptedCard::new().expect(&h("00 CA 00 00 00"), &piece);
        for _ in 0..4 {
            card = card.expect(&h("00 C0 00 00 00"), &piece);
        }
        let cmd = Command::new(0, 0xCA, 0, 0).with_le(256);
        let err = exchange_with_limit(&mut card, &cmd, 1024).unwrap_err();
        assert!(matches!(err, CardError::Malformed(_)), "{err:?}");
        card.finish();
    }

    #[test]
    fn refuses_a_6100_that_brings_nothing() {
        let mut card = ScriptedCard::new()
            .expect(&h("00 CA 00 00 00"), &h("6100"))
            .expect(&h("00 C0 00 00 00"), &h("6100"));
        let cmd = Command::new(0, 0xCA, 0, 0).with_le(256);
        assert!(matches!(
            exchange(&mut card, &cmd),
            Err(CardError::Malformed(_))
        ));
    }

    #[test]
    fn rejects_short_and_oversized_answers() {
        let mut card = ScriptedCard::new().expect(&h("00 CA 00 00"), &h("90"));
        assert!(exchange(&mut card, &Command::new(0, 0xCA, 0, 0)).is_err());
        let mut card = ScriptedCard::new().expect(&h("00 CA 00 00"), &vec![0u8; 300]);
        assert!(exchange(&mut card, &Command::new(0, 0xCA, 0, 0)).is_err());
    }

    #[test]
    fn passes_transport_errors_through() {
        let mut card = ScriptedCard::new().expect_error(&h("00 CA 00 00"), CardError::CardRemoved);
        assert_eq!(
            exchange(&mut card, &Command::new(0, 0xCA, 0, 0)),
            Err(CardError::CardRemoved)
        );
    }
}
