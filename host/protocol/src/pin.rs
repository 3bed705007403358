//! PIN, new PIN and PUK values: checked for shape, wiped from memory on drop, never printed.

use std::fmt;

use zeroize::Zeroizing;

use crate::validation::ValidationError;

/// A PIN or PUK. `Debug` shows `Pin(***)`; there is deliberately no `Display` or `Serialize`.
///
/// The constructors copy the text into memory that is zeroised on drop; the caller remains
/// responsible for wiping its own copy (e.g. the request buffer).
#[derive(Clone)]
pub struct Pin(Zeroizing<String>);

impl Pin {
    /// A PIN as entered by the user: 4–8 printable ASCII characters (legacy passcodes included).
    pub fn entered(s: &str) -> Result<Pin, ValidationError> {
        check(
            s,
            4,
            8,
            is_printable_ascii,
            "the passcode must be 4 to 8 letters, digits or symbols",
        )
    }

    /// A new PIN: 6–8 digits.
    pub fn new_pin(s: &str) -> Result<Pin, ValidationError> {
        check(
            s,
            6,
            8,
            |b| b.is_ascii_digit(),
            "the new passcode must be 6 to 8 digits",
        )
    }

    /// A PUK (unlock code): 6–8 printable ASCII characters.
    pub fn puk(s: &str) -> Result<Pin, ValidationError> {
        check(
            s,
            6,
            8,
            is_printable_ascii,
            "the unlock code must be 6 to 8 characters",
        )
    }

    pub fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }

    /// The text, for building the normalised argument JSON handed to the host.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn is_printable_ascii(b: u8) -> bool {
    (0x20..=0x7e).contains(&b)
}

fn check(
    s: &str,
    min: usize,
    max: usize,
    allowed: impl Fn(u8) -> bool,
    rule: &'static str,
) -> Result<Pin, ValidationError> {
    // Byte length equals character count once every byte is known to be ASCII.
    if s.len() < min || s.len() > max || !s.bytes().all(allowed) {
        return Err(ValidationError::PinFormat(rule));
    }
    Ok(Pin(Zeroizing::new(s.to_owned())))
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(***)")
    }
}
