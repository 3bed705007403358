//! ISO 7816-4 short APDUs: command encoding, response parsing, status words.
//!
//! Only short APDUs (Lc ≤ 255, Le ≤ 256) are built here; longer data goes through command
//! chaining in [`crate::transport::exchange`], which every PIV card must support, whereas
//! extended length is optional for readers and cards.

use crate::error::CardError;
pub use crate::status::StatusWord;
use std::fmt;
use zeroize::Zeroizing;

/// Largest data field of one short command APDU.
pub const MAX_SHORT_DATA: usize = 255;
/// Largest Le of a short APDU (encoded as 0x00).
pub const MAX_SHORT_LE: u16 = 256;
/// CLA bit that marks "more commands of this chain follow".
pub const CLA_CHAINING: u8 = 0x10;

/// A command APDU. The data field is wiped on drop because it may carry a PIN or PUK.
#[derive(Clone, PartialEq, Eq)]
pub struct Command {
    pub cla: u8,
    pub ins: u8,
    pub p1: u8,
    pub p2: u8,
    pub data: Zeroizing<Vec<u8>>,
    /// Expected response length, 1..=256; `None` sends no Le.
    pub le: Option<u16>,
}

impl fmt::Debug for Command {
    // The data may be a PIN: show only its length.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Command({:02X} {:02X} {:02X} {:02X}, {} data bytes, le {:?})",
            self.cla,
            self.ins,
            self.p1,
            self.p2,
            self.data.len(),
            self.le
        )
    }
}

impl Command {
    pub fn new(cla: u8, ins: u8, p1: u8, p2: u8) -> Self {
        Command {
            cla,
            ins,
            p1,
            p2,
            data: Zeroizing::new(Vec::new()),
            le: None,
        }
    }

    pub fn with_data(mut self, data: impl Into<Vec<u8>>) -> Self {
        self.data = Zeroizing::new(data.into());
        self
    }

    pub fn with_le(mut self, le: u16) -> Self {
        self.le = Some(le);
        self
    }

    /// Encodes as one short APDU (case 1–4). Fails when the data does not fit: chain instead.
    pub fn encode(&self) -> Result<Zeroizing<Vec<u8>>, CardError> {
        if self.data.len() > MAX_SHORT_DATA {
            return Err(CardError::invalid_input(
                "command data longer than 255 bytes needs chaining",
            ));
        }
        let le = match self.le {
            None => None,
            Some(0) => return Err(CardError::invalid_input("Le of 0 is not encodable")),
            Some(n) if n > MAX_SHORT_LE => {
                return Err(CardError::invalid_input(
                    "Le above 256 needs extended length",
                ))
            }
            // 256 is written as 0x00 in a short APDU.
            Some(n) => Some((n & 0xFF) as u8),
        };
        let mut out = Zeroizing::new(Vec::with_capacity(5 + self.data.len() + 1));
        out.extend_from_slice(&[self.cla, self.ins, self.p1, self.p2]);
        if !self.data.is_empty() {
            out.push(self.data.len() as u8);
            out.extend_from_slice(&self.data);
        }
        if let Some(le) = le {
            out.push(le);
        }
        Ok(out)
    }
}

/// A response APDU: data and status word.
#[derive(Clone, PartialEq, Eq)]
pub struct Response {
    pub data: Vec<u8>,
    pub sw: StatusWord,
}

impl fmt::Debug for Response {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Response({} data bytes, {})", self.data.len(), self.sw)
    }
}

impl Response {
    /// Splits raw bytes (data ‖ SW1 SW2); fewer than two bytes is malformed.
    pub fn parse(raw: &[u8]) -> Result<Response, CardError> {
        let split = raw
            .len()
            .checked_sub(2)
            .ok_or_else(|| CardError::malformed("response shorter than a status word"))?;
        let (data, sw) = raw.split_at(split);
        Ok(Response {
            data: data.to_vec(),
            sw: StatusWord::from_bytes(sw[0], sw[1]),
        })
    }

    pub fn is_success(&self) -> bool {
        self.sw.is_success()
    }

    /// The data when the status is 9000; otherwise the generic error for the status word.
    pub fn into_data(self) -> Result<Vec<u8>, CardError> {
        if self.sw.is_success() {
            Ok(self.data)
        } else {
            Err(status_error(self.sw))
        }
    }
}

/// The error for a status word no operation-specific rule claimed.
pub fn status_error(sw: StatusWord) -> CardError {
    if sw.is_security_status_not_satisfied() {
        CardError::SecurityStatusNotSatisfied
    } else if sw.is_not_found() {
        CardError::ObjectNotFound
    } else {
        CardError::Status(sw)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a panic is the failure report
mod tests {
    use super::*;

    #[test]
    fn encodes_the_four_cases() {
        let c = Command::new(0, 0xA4, 4, 0);
        assert_eq!(&c.encode().unwrap()[..], &[0, 0xA4, 4, 0]);
        let c = Command::new(0, 0xC0, 0, 0).with_le(256);
        assert_eq!(&c.encode().unwrap()[..], &[0, 0xC0, 0, 0, 0]);
        let c = Command::new(0, 0x20, 0, 0x80).with_data(vec![1, 2]);
        assert_eq!(&c.encode().unwrap()[..], &[0, 0x20, 0, 0x80, 2, 1, 2]);
        let c = Command::new(0, 0xCB, 0x3F, 0xFF)
            .with_data(vec![9])
            .with_le(0x10);
        assert_eq!(&c.encode().unwrap()[..], &[0, 0xCB, 0x3F, 0xFF, 1, 9, 0x10]);
    }

    #[test]
    fn refuses_unencodable_commands() {
        let c = Command::new(0, 0xDB, 0x3F, 0xFF).with_data(vec![0; 256]);
        assert!(c.encode().is_err());
        assert!(Command::new(0, 0, 0, 0).with_le(257).encode().is_err());
        assert!(Command::new(0, 0, 0, 0).with_le(0).encode().is_err());
    }

    #[test]
    fn debug_hides_data() {
        let c = Command::new(0, 0x20, 0, 0x80).with_data(b"123456".to_vec());
        let shown = format!("{c:?}");
        assert!(!shown.contains("49"), "{shown}");
        assert!(shown.contains("6 data bytes"));
    }

    #[test]
    fn parses_responses() {
        let r = Response::parse(&[1, 2, 0x90, 0]).unwrap();
        assert_eq!(r.data, vec![1, 2]);
        assert!(r.is_success());
        let r = Response::parse(&[0x6A, 0x82]).unwrap();
        assert_eq!(r.sw, StatusWord::FILE_NOT_FOUND);
        assert!(r.data.is_empty());
        assert!(Response::parse(&[0x90]).is_err());
        assert!(Response::parse(&[]).is_err());
    }

    #[test]
    fn status_word_helpers() {
        assert_eq!(StatusWord(0x63C2).retries_left(), Some(2));
        assert_eq!(StatusWord(0x63C0).retries_left(), Some(0));
        assert_eq!(StatusWord(0x6300).retries_left(), None);
        assert_eq!(StatusWord(0x6110).bytes_remaining(), Some(0x10));
        assert_eq!(StatusWord(0x6C08).correct_le(), Some(8));
        assert_eq!(StatusWord(0x9000).correct_le(), None);
        assert!(StatusWord(0x6983).is_blocked());
        assert_eq!(StatusWord(0x6a82).to_string(), "6A82");
        assert_eq!(
            status_error(StatusWord(0x6982)),
            CardError::SecurityStatusNotSatisfied
        );
        assert_eq!(
            status_error(StatusWord(0x6D00)),
            CardError::Status(StatusWord(0x6D00))
        );
    }
}
