//! Status words, the two trailing bytes of every response APDU (ISO 7816-4). A leaf module:
//! both the APDU codec and the error type use it, and it uses neither.

use std::fmt;

/// The two trailing bytes of every response.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct StatusWord(pub u16);

impl StatusWord {
    pub const SUCCESS: StatusWord = StatusWord(0x9000);
    pub const SECURITY_STATUS_NOT_SATISFIED: StatusWord = StatusWord(0x6982);
    pub const AUTH_METHOD_BLOCKED: StatusWord = StatusWord(0x6983);
    pub const WRONG_DATA: StatusWord = StatusWord(0x6A80);
    pub const FILE_NOT_FOUND: StatusWord = StatusWord(0x6A82);

    pub fn from_bytes(sw1: u8, sw2: u8) -> Self {
        StatusWord(u16::from_be_bytes([sw1, sw2]))
    }

    pub fn sw1(self) -> u8 {
        (self.0 >> 8) as u8
    }

    pub fn sw2(self) -> u8 {
        (self.0 & 0xFF) as u8
    }

    pub fn is_success(self) -> bool {
        self == Self::SUCCESS
    }

    /// 61xx: xx more bytes wait to be fetched with GET RESPONSE (00 means 256 or more).
    pub fn bytes_remaining(self) -> Option<u8> {
        (self.sw1() == 0x61).then_some(self.sw2())
    }

    /// 6Cxx: wrong Le; resend with Le = xx (00 means 256).
    pub fn correct_le(self) -> Option<u8> {
        (self.sw1() == 0x6C).then_some(self.sw2())
    }

    /// 63Cx: verification failed (or status query), x tries left.
    pub fn retries_left(self) -> Option<u8> {
        (self.0 & 0xFFF0 == 0x63C0).then_some((self.0 & 0x000F) as u8)
    }

    pub fn is_blocked(self) -> bool {
        self == Self::AUTH_METHOD_BLOCKED
    }

    pub fn is_security_status_not_satisfied(self) -> bool {
        self == Self::SECURITY_STATUS_NOT_SATISFIED
    }

    pub fn is_not_found(self) -> bool {
        self == Self::FILE_NOT_FOUND
    }
}

impl fmt::Display for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04X}", self.0)
    }
}

impl fmt::Debug for StatusWord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "StatusWord({:04X})", self.0)
    }
}
