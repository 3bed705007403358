//! BER-TLV as PIV uses it (ISO 7816-4 / SP 800-73-4): tags of up to three bytes (`5FC105`,
//! `7F49`), definite lengths in short form or `81`/`82`/`83` long form.
//!
//! Parsing borrows from the input, so a claimed length never causes an allocation; a length
//! that runs past the end of the input is an error, not a panic.

use crate::error::CardError;
use thiserror::Error;

/// Longest tag accepted (PIV uses at most three bytes).
const MAX_TAG_BYTES: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum TlvError {
    #[error("TLV truncated")]
    Truncated,
    #[error("TLV tag longer than {MAX_TAG_BYTES} bytes")]
    TagTooLong,
    #[error("TLV length form not supported")]
    UnsupportedLength,
    #[error("TLV value runs past the end of the data")]
    LengthOverflow,
}

impl From<TlvError> for CardError {
    fn from(e: TlvError) -> Self {
        CardError::Malformed(e.to_string())
    }
}

/// One data object: its tag (the tag bytes read big-endian, e.g. `0x5FC105`) and value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tlv<'a> {
    pub tag: u32,
    pub value: &'a [u8],
}

/// Reads one object from the front of `data`; returns it and the rest.
pub fn parse_one(data: &[u8]) -> Result<(Tlv<'_>, &[u8]), TlvError> {
    let (tag, rest) = read_tag(data)?;
    let (len, rest) = read_length(rest)?;
    if len > rest.len() {
        return Err(TlvError::LengthOverflow);
    }
    let (value, rest) = rest.split_at(len);
    Ok((Tlv { tag, value }, rest))
}

/// All objects at this level, in order. Nested objects are not descended into.
pub fn parse(mut data: &[u8]) -> Result<Vec<Tlv<'_>>, TlvError> {
    let mut out = Vec::new();
    while !data.is_empty() {
        let (tlv, rest) = parse_one(data)?;
        out.push(tlv);
        data = rest;
    }
    Ok(out)
}

/// The value of the first object with `tag` at this level; the whole level must parse.
pub fn find(data: &[u8], tag: u32) -> Result<Option<&[u8]>, TlvError> {
    Ok(parse(data)?
        .into_iter()
        .find(|t| t.tag == tag)
        .map(|t| t.value))
}

/// Encodes one object.
pub fn encode(tag: u32, value: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(value.len() + 8);
    encode_into(&mut out, tag, value);
    out
}

/// Appends one encoded object to `out`.
pub fn encode_into(out: &mut Vec<u8>, tag: u32, value: &[u8]) {
    encode_tag(out, tag);
    encode_length(out, value.len());
    out.extend_from_slice(value);
}

fn encode_tag(out: &mut Vec<u8>, tag: u32) {
    let bytes = tag.to_be_bytes();
    // Tag 0x00 is never used by PIV, but still writes one byte rather than none.
    let skip = bytes.iter().take(3).take_while(|b| **b == 0).count();
    out.extend_from_slice(&bytes[skip..]);
}

fn encode_length(out: &mut Vec<u8>, len: usize) {
    if len < 0x80 {
        out.push(len as u8);
    } else if len <= 0xFF {
        out.extend_from_slice(&[0x81, len as u8]);
    } else if len <= 0xFFFF {
        out.push(0x82);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        // Nothing PIV sends comes near 16 MiB; values beyond it are a caller bug.
        let len = len.min(0xFF_FFFF) as u32;
        out.push(0x83);
        out.extend_from_slice(&len.to_be_bytes()[1..]);
    }
}

fn read_tag(data: &[u8]) -> Result<(u32, &[u8]), TlvError> {
    let first = *data.first().ok_or(TlvError::Truncated)?;
    let mut tag = u32::from(first);
    let mut used = 1;
    // Low five bits all set: the tag number continues in following bytes while bit 8 is set.
    if first & 0x1F == 0x1F {
        loop {
            let b = *data.get(used).ok_or(TlvError::Truncated)?;
            used += 1;
            if used > MAX_TAG_BYTES {
                return Err(TlvError::TagTooLong);
            }
            tag = (tag << 8) | u32::from(b);
            if b & 0x80 == 0 {
                break;
            }
        }
    }
    Ok((tag, &data[used..]))
}

fn read_length(data: &[u8]) -> Result<(usize, &[u8]), TlvError> {
    let first = *data.first().ok_or(TlvError::Truncated)?;
    if first < 0x80 {
        return Ok((usize::from(first), &data[1..]));
    }
    // 0x80 (indefinite) is not allowed in PIV; more than three length bytes is never needed.
    let count = usize::from(first & 0x7F);
    if count == 0 || count > 3 {
        return Err(TlvError::UnsupportedLength);
    }
    let bytes = data.get(1..1 + count).ok_or(TlvError::Truncated)?;
    let len = bytes
        .iter()
        .fold(0usize, |acc, b| (acc << 8) | usize::from(*b));
    Ok((len, &data[1 + count..]))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // in tests a panic is the failure report
mod tests {
    use super::*;

    #[test]
    fn round_trips_multibyte_tags_and_long_lengths() {
        for (tag, len) in [
            (0x53, 0),
            (0x5FC105, 5),
            (0x7F49, 0x7F),
            (0x70, 0x80),
            (0x70, 0xFF),
            (0x70, 0x100),
            (0x70, 0x1_0000),
        ] {
            let value: Vec<u8> = (0..len).map(|i| i as u8).collect();
            let enc = encode(tag, &value);
            let (tlv, rest) = parse_one(&enc).unwrap();
            assert_eq!(tlv.tag, tag);
            assert_eq!(tlv.value, &value[..]);
            assert!(rest.is_empty());
        }
    }

    #[test]
    fn encodes_exact_bytes() {
        assert_eq!(
            encode(0x5C, &[0x5F, 0xC1, 0x05]),
            [0x5C, 3, 0x5F, 0xC1, 0x05]
        );
        assert_eq!(encode(0x5FC105, &[]), [0x5F, 0xC1, 0x05, 0]);
        assert_eq!(encode(0x7F49, &[1]), [0x7F, 0x49, 1, 1]);
        let long = encode(0x70, &[0; 0x80]);
        assert_eq!(&long[..3], &[0x70, 0x81, 0x80]);
        let longer = encode(0x70, &[0; 0x123]);
        assert_eq!(&longer[..4], &[0x70, 0x82, 0x01, 0x23]);
    }

    #[test]
    fn parses_a_level_and_finds() {
        let mut data = encode(0x70, b"cert");
        data.extend(encode(0x71, &[1]));
        data.extend(encode(0xFE, &[]));
        let all = parse(&data).unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(find(&data, 0x71).unwrap(), Some(&[1u8][..]));
        assert_eq!(find(&data, 0x72).unwrap(), None);
    }

    #[test]
    fn rejects_truncation_and_overflow() {
        assert_eq!(parse_one(&[]), Err(TlvError::Truncated));
        assert_eq!(parse_one(&[0x53]), Err(TlvError::Truncated));
        assert_eq!(parse_one(&[0x5F]), Err(TlvError::Truncated));
        assert_eq!(parse_one(&[0x5F, 0xC1]), Err(TlvError::Truncated));
        assert_eq!(parse_one(&[0x53, 0x82, 0x01]), Err(TlvError::Truncated));
        assert_eq!(
            parse_one(&[0x53, 0x03, 1, 2]),
            Err(TlvError::LengthOverflow)
        );
        assert_eq!(
            parse_one(&[0x53, 0x83, 0xFF, 0xFF, 0xFF, 0]),
            Err(TlvError::LengthOverflow)
        );
        assert_eq!(parse_one(&[0x53, 0x80]), Err(TlvError::UnsupportedLength));
        assert_eq!(
            parse_one(&[0x53, 0x88, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]),
            Err(TlvError::UnsupportedLength)
        );
        assert_eq!(
            parse_one(&[0x5F, 0xC1, 0x85, 0x01, 0]),
            Err(TlvError::TagTooLong)
        );
        // A good object followed by garbage fails the whole level.
        assert!(parse(&[0x70, 0x01, 0xAA, 0x71]).is_err());
        assert!(find(&[0x70, 0x01, 0xAA, 0x71], 0x70).is_err());
    }
}
