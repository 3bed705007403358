//! A strict JSON reader (RFC 8259) for frames that may carry a PIN, PUK or new PIN.
//!
//! `serde_json::from_slice` would be simpler but it cannot be made to forget: strings with
//! escapes are decoded in a scratch buffer inside the deserializer that grows by reallocation
//! and is freed without wiping, and a value dropped on an error path is freed as it is. This
//! reader builds the same `serde_json::Value`, but
//!
//! - every string is decoded straight into one allocation sized from its raw length (an escape
//!   never decodes to more bytes than it takes), so it never reallocates and leaves no copy;
//! - everything built so far is wiped (strings zeroised, keys included) when parsing fails;
//! - a key that appears twice in one object is an error, at every nesting level (DESIGN.md:
//!   duplicate keys are `ERR_INVALID_REQUEST`; serde_json would let the last one win);
//! - nesting is limited to [`MAX_DEPTH`] like serde_json's, so no input exhausts the stack.
//!
//! It accepts exactly what serde_json accepts and reads it to the same values (numbers: `u64`,
//! then `i64`, then `f64`; `-0` is a float; a finite float or an error).

use serde_json::{Map, Number, Value};
use std::fmt;
use zeroize::{Zeroize, Zeroizing};

/// The deepest nesting of arrays and objects accepted (as serde_json: 127 levels).
pub const MAX_DEPTH: usize = 127;

/// Why a frame is not acceptable JSON. Carries no input text: the input may be a PIN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonError {
    NotUtf8,
    /// Broken syntax; the text says what was expected.
    Syntax(&'static str),
    DuplicateKey,
    TooDeep,
    /// A number outside the range of `f64`.
    NumberOutOfRange,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JsonError::NotUtf8 => f.write_str("the message is not UTF-8"),
            JsonError::Syntax(what) => write!(f, "the message is not valid JSON: {what}"),
            JsonError::DuplicateKey => f.write_str("the message has a duplicate key"),
            JsonError::TooDeep => f.write_str("the message is nested too deeply"),
            JsonError::NumberOutOfRange => f.write_str("the message has a number out of range"),
        }
    }
}

impl std::error::Error for JsonError {}

/// Parses one JSON text (surrounding whitespace allowed, nothing else). Never panics.
pub fn from_slice(input: &[u8]) -> Result<Value, JsonError> {
    let text = std::str::from_utf8(input).map_err(|_| JsonError::NotUtf8)?;
    from_str(text)
}

/// As [`from_slice`], for text already known to be UTF-8.
pub fn from_str(text: &str) -> Result<Value, JsonError> {
    let mut parser = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
        depth: 0,
    };
    let value = Wiped(parser.value()?);
    parser.whitespace();
    if parser.pos != parser.bytes.len() {
        return Err(JsonError::Syntax("trailing characters"));
    }
    Ok(value.into_inner())
}

/// Overwrites every string in `value` (keys included) with zeros and leaves an empty value of
/// the same kind. Call it before dropping a value that may hold a secret.
pub fn wipe(value: &mut Value) {
    match value {
        Value::String(s) => s.zeroize(),
        Value::Array(items) => {
            items.iter_mut().for_each(wipe);
            items.clear();
        }
        Value::Object(map) => wipe_map(map),
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// [`wipe`] for an object's map: values and keys.
pub fn wipe_map(map: &mut Map<String, Value>) {
    for (mut key, mut value) in std::mem::take(map) {
        key.zeroize();
        wipe(&mut value);
    }
}

/// A value wiped when dropped (on every early return), unless taken out with `into_inner`.
#[derive(Debug, Default)]
pub struct Wiped(pub Value);

impl Wiped {
    pub fn into_inner(mut self) -> Value {
        std::mem::take(&mut self.0)
    }
}

impl Drop for Wiped {
    fn drop(&mut self) {
        wipe(&mut self.0);
    }
}

/// Map and array under construction, wiped when a parse fails part-way.
struct WipedMap(Map<String, Value>);

impl Drop for WipedMap {
    fn drop(&mut self) {
        wipe_map(&mut self.0);
    }
}

struct WipedArray(Vec<Value>);

impl Drop for WipedArray {
    fn drop(&mut self) {
        self.0.iter_mut().for_each(wipe);
    }
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.bytes.get(self.pos).copied()
    }

    fn whitespace(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.peek() {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8, what: &'static str) -> Result<(), JsonError> {
        self.whitespace();
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(JsonError::Syntax(what))
        }
    }

    fn value(&mut self) -> Result<Value, JsonError> {
        self.whitespace();
        match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => {
                let mut s = self.string()?;
                Ok(Value::String(std::mem::take(&mut *s)))
            }
            Some(b't') => self.literal("true", Value::Bool(true)),
            Some(b'f') => self.literal("false", Value::Bool(false)),
            Some(b'n') => self.literal("null", Value::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            Some(_) => Err(JsonError::Syntax("expected a value")),
            None => Err(JsonError::Syntax("unexpected end")),
        }
    }

    fn literal(&mut self, word: &'static str, value: Value) -> Result<Value, JsonError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(value)
        } else {
            Err(JsonError::Syntax("expected a value"))
        }
    }

    fn enter(&mut self) -> Result<(), JsonError> {
        if self.depth >= MAX_DEPTH {
            return Err(JsonError::TooDeep);
        }
        self.depth += 1;
        self.pos += 1; // the opening bracket
        Ok(())
    }

    fn object(&mut self) -> Result<Value, JsonError> {
        self.enter()?;
        let mut map = WipedMap(Map::new());
        self.whitespace();
        if self.peek() == Some(b'}') {
            self.pos += 1;
        } else {
            loop {
                self.whitespace();
                if self.peek() != Some(b'"') {
                    return Err(JsonError::Syntax("expected a key"));
                }
                let mut key = self.string()?;
                if map.0.contains_key(key.as_str()) {
                    return Err(JsonError::DuplicateKey);
                }
                self.expect(b':', "expected ':'")?;
                let value = self.value()?;
                map.0.insert(std::mem::take(&mut *key), value);
                self.whitespace();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b'}') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(JsonError::Syntax("expected ',' or '}'")),
                }
            }
        }
        self.depth -= 1;
        Ok(Value::Object(std::mem::take(&mut map.0)))
    }

    fn array(&mut self) -> Result<Value, JsonError> {
        self.enter()?;
        let mut items = WipedArray(Vec::new());
        self.whitespace();
        if self.peek() == Some(b']') {
            self.pos += 1;
        } else {
            loop {
                let value = self.value()?;
                items.0.push(value);
                self.whitespace();
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b']') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(JsonError::Syntax("expected ',' or ']'")),
                }
            }
        }
        self.depth -= 1;
        Ok(Value::Array(std::mem::take(&mut items.0)))
    }

    /// A string at the opening quote, decoded into one allocation that is wiped on drop.
    fn string(&mut self) -> Result<Zeroizing<String>, JsonError> {
        let start = self.pos + 1;
        // First pass: find the closing quote, so the output can be sized once.
        let mut end = start;
        let mut escaped = false;
        loop {
            match self.bytes.get(end) {
                None => return Err(JsonError::Syntax("unterminated string")),
                Some(b'"') => break,
                Some(b'\\') => {
                    escaped = true;
                    end += 2;
                }
                Some(0x00..=0x1F) => {
                    return Err(JsonError::Syntax("control character in a string"))
                }
                Some(_) => end += 1,
            }
        }
        // Each escape decodes to fewer bytes than it is written with: no reallocation below.
        let mut out = Zeroizing::new(String::with_capacity(end - start));
        if !escaped {
            out.push_str(&self.text[start..end]);
            self.pos = end + 1;
            return Ok(out);
        }
        let mut i = start;
        let mut run = start;
        while i < end {
            if self.bytes[i] != b'\\' {
                i += 1;
                continue;
            }
            // Backslash is ASCII, so both ends of the run are character boundaries.
            out.push_str(&self.text[run..i]);
            let escape = self.bytes.get(i + 1).copied();
            i += 2;
            match escape {
                Some(b'"') => out.push('"'),
                Some(b'\\') => out.push('\\'),
                Some(b'/') => out.push('/'),
                Some(b'b') => out.push('\u{8}'),
                Some(b'f') => out.push('\u{c}'),
                Some(b'n') => out.push('\n'),
                Some(b'r') => out.push('\r'),
                Some(b't') => out.push('\t'),
                Some(b'u') => {
                    let (c, used) = self.unicode_escape(i)?;
                    out.push(c);
                    i += used;
                }
                _ => return Err(JsonError::Syntax("invalid escape")),
            }
            run = i;
        }
        if i != end {
            // An escape ran past the closing quote (e.g. a "\u12" at the end).
            return Err(JsonError::Syntax("invalid escape"));
        }
        out.push_str(&self.text[run..end]);
        self.pos = end + 1;
        Ok(out)
    }

    /// The character of `\uXXXX` (and its low surrogate `\uXXXX` if it is a high one) whose hex
    /// digits start at `at`; returns it and the bytes used after the `\u`.
    fn unicode_escape(&self, at: usize) -> Result<(char, usize), JsonError> {
        let first = self.hex4(at)?;
        match first {
            0xD800..=0xDBFF => {
                if self.bytes.get(at + 4) != Some(&b'\\') || self.bytes.get(at + 5) != Some(&b'u') {
                    return Err(JsonError::Syntax("lone surrogate in a \\u escape"));
                }
                let second = self.hex4(at + 6)?;
                if !(0xDC00..=0xDFFF).contains(&second) {
                    return Err(JsonError::Syntax("lone surrogate in a \\u escape"));
                }
                let code = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00);
                let c = char::from_u32(code).ok_or(JsonError::Syntax("invalid \\u escape"))?;
                Ok((c, 10))
            }
            0xDC00..=0xDFFF => Err(JsonError::Syntax("lone surrogate in a \\u escape")),
            _ => {
                let c = char::from_u32(first).ok_or(JsonError::Syntax("invalid \\u escape"))?;
                Ok((c, 4))
            }
        }
    }

    fn hex4(&self, at: usize) -> Result<u32, JsonError> {
        let digits = self
            .bytes
            .get(at..at + 4)
            .ok_or(JsonError::Syntax("invalid \\u escape"))?;
        digits.iter().try_fold(0u32, |acc, &b| {
            let d = (b as char)
                .to_digit(16)
                .ok_or(JsonError::Syntax("invalid \\u escape"))?;
            Ok(acc * 16 + d)
        })
    }

    fn digits(&mut self) -> usize {
        let from = self.pos;
        while let Some(b'0'..=b'9') = self.peek() {
            self.pos += 1;
        }
        self.pos - from
    }

    fn number(&mut self) -> Result<Value, JsonError> {
        let start = self.pos;
        let negative = self.peek() == Some(b'-');
        if negative {
            self.pos += 1;
        }
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                self.digits();
            }
            _ => return Err(JsonError::Syntax("invalid number")),
        }
        let mut integer = true;
        if self.peek() == Some(b'.') {
            integer = false;
            self.pos += 1;
            if self.digits() == 0 {
                return Err(JsonError::Syntax("invalid number"));
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            integer = false;
            self.pos += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.pos += 1;
            }
            if self.digits() == 0 {
                return Err(JsonError::Syntax("invalid number"));
            }
        }
        let text = &self.text[start..self.pos];
        if integer {
            if negative {
                // serde_json reads -0 as a float.
                if let Ok(n) = text.parse::<i64>() {
                    if n != 0 {
                        return Ok(Value::Number(n.into()));
                    }
                }
            } else if let Ok(n) = text.parse::<u64>() {
                return Ok(Value::Number(n.into()));
            }
        }
        let f: f64 = text
            .parse()
            .map_err(|_| JsonError::Syntax("invalid number"))?;
        Number::from_f64(f)
            .map(Value::Number)
            .ok_or(JsonError::NumberOutOfRange)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a panic is the failure report
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_what_serde_json_reads() {
        for text in [
            r#"{"a":[1,-2,3.5,-0,1e3,1E-2,0.5e+2,true,false,null,"x\u00e9\ud83d\ude00\"\\\/\b\f\n\r\t"],"b":{}}"#,
            "  [ ]  ",
            "\"\"",
            "18446744073709551615",
            "18446744073709551616",
            "-9223372036854775808",
            "-9223372036854775809",
            "1e-400",
            r#""é€😀 \u0000""#,
        ] {
            let ours = from_str(text).unwrap();
            let theirs: Value = serde_json::from_str(text).unwrap();
            assert_eq!(ours, theirs, "{text}");
            assert_eq!(ours.to_string(), theirs.to_string(), "{text}");
        }
    }

    #[test]
    fn refuses_what_serde_json_refuses() {
        for text in [
            "",
            " ",
            "{",
            "}",
            "[1,]",
            "{\"a\":1,}",
            "01",
            "-",
            "1.",
            ".5",
            "1e",
            "+1",
            "NaN",
            "tru",
            "nul",
            "\"\\x\"",
            "\"\\u12\"",
            "\"\\ud800\"",
            "\"\\udc00\"",
            "\"\\ud800\\u0041\"",
            "\"a\nb\"",
            "{a:1}",
            "[1 2]",
            "1 2",
            "\"abc",
            "\"\\",
            "1e400",
            "-1e400",
            "{\"a\" 1}",
            "[\"\\u00\"]",
        ] {
            assert!(from_str(text).is_err(), "{text:?} accepted");
            assert!(
                serde_json::from_str::<Value>(text).is_err(),
                "serde_json accepts {text:?}"
            );
        }
    }

    #[test]
    fn duplicate_keys_are_an_error_anywhere() {
        assert_eq!(from_str(r#"{"a":1,"a":1}"#), Err(JsonError::DuplicateKey));
        assert_eq!(
            from_str(r#"[{"b":{"c":[{"d":1,"\u0064":2}]}}]"#),
            Err(JsonError::DuplicateKey)
        );
        assert_eq!(
            from_str(r#"[{"a":1},{"a":1}]"#).unwrap(),
            json!([{"a":1},{"a":1}])
        );
    }

    #[test]
    fn depth_is_limited_like_serde_json() {
        let ok = format!("{}{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH));
        assert!(from_str(&ok).is_ok());
        assert!(serde_json::from_str::<Value>(&ok).is_ok());
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1));
        assert_eq!(from_str(&deep), Err(JsonError::TooDeep));
        assert!(serde_json::from_str::<Value>(&deep).is_err());
        let huge = "[".repeat(1_000_000);
        assert_eq!(from_str(&huge), Err(JsonError::TooDeep));
    }

    #[test]
    fn decoded_strings_fill_their_one_allocation() {
        // The capacity fixed before decoding is never exceeded (no reallocation, no copies).
        let text = r#""\u0041\ud83d\ude00\n""#;
        let mut parser = Parser {
            text,
            bytes: text.as_bytes(),
            pos: 0,
            depth: 0,
        };
        let s = parser.string().unwrap();
        assert_eq!(s.as_str(), "A😀\n");
        assert_eq!(s.capacity(), text.len() - 2);
    }

    #[test]
    fn wipe_zeroes_strings_and_empties_containers() {
        let mut v = json!({"pin": "1234", "list": ["5678", {"puk": "12345678"}]});
        wipe(&mut v);
        assert_eq!(v, json!({}));
        let mut s = Value::String("1234".into());
        wipe(&mut s);
        assert_eq!(s, json!(""));
    }

    #[test]
    fn errors_do_not_echo_the_input() {
        let e = from_str(r#"{"pin":"S3cr3t!!","pin":"x"}"#).unwrap_err();
        assert!(!e.to_string().contains("S3cr3t"));
    }
}
